namespace RLMesh.Core.Envs.MinAtar;

/// <summary>
/// MinAtar Space Invaders: a cannon on the bottom row shoots up at a block of aliens that sweeps sideways,
/// dropping a row at each edge and speeding up as it thins. No game randomness. Channels: cannon, alien,
/// alien_left, alien_right (the block's direction), friendly_bullet, enemy_bullet.
/// </summary>
internal sealed class SpaceInvaders : MinAtarGame
{
    private const int Cannon = 0, Alien = 1, AlienLeft = 2, AlienRight = 3, FriendlyBullet = 4, EnemyBullet = 5;
    private const int ShotCooldown = 5;
    private const int InitialMoveInterval = 12;
    private const int MinimumMoveInterval = 6;
    private const int EnemyShotInterval = 10;

    // One bit mask per row (bit x is column x): moving, rolling and hit tests become a few integer operations.
    private const int RowBits = (1 << Size) - 1;
    private readonly int[] _aliens = new int[Size];
    private readonly int[] _friendlyBullets = new int[Size];
    private readonly int[] _enemyBullets = new int[Size];
    private int _alienCount;
    private int _cannonX, _alienDirection, _moveInterval, _alienMoveTimer, _alienShotTimer, _shotTimer;
    private bool _terminal;

    public SpaceInvaders(NumPyRandomState random, bool ramping) : base(random, ramping) { }

    public override string Name => "SpaceInvaders";
    public override int Channels => 6;
    public override int[] MinimalActionSet => [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Right, MinAtarAction.Fire];

    public override void Reset()
    {
        _cannonX = 5;
        Array.Clear(_friendlyBullets);
        Array.Clear(_enemyBullets);
        FillAliens();
        _alienDirection = -1;
        _moveInterval = InitialMoveInterval;
        _alienMoveTimer = _moveInterval;
        _alienShotTimer = EnemyShotInterval;
        _shotTimer = 0;
        _terminal = false;
    }

    private void FillAliens()
    {
        Array.Clear(_aliens);
        // Rows 0-3, columns 2-7.
        for (int y = 0; y < 4; y++) _aliens[y] = 0b0011111100;
        _alienCount = 24;
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;
        int cannonBit = 1 << _cannonX;

        if (action == MinAtarAction.Fire && _shotTimer == 0)
        {
            _friendlyBullets[9] |= cannonBit;
            _shotTimer = ShotCooldown;
        }
        else if (action == MinAtarAction.Left) _cannonX = Math.Max(0, _cannonX - 1);
        else if (action == MinAtarAction.Right) _cannonX = Math.Min(9, _cannonX + 1);
        cannonBit = 1 << _cannonX;

        // Friendly bullets rise a row (leaving at the top), enemy bullets fall a row (leaving at the bottom).
        Array.Copy(_friendlyBullets, 1, _friendlyBullets, 0, Size - 1);
        _friendlyBullets[9] = 0;
        Array.Copy(_enemyBullets, 0, _enemyBullets, 1, Size - 1);
        _enemyBullets[0] = 0;
        if ((_enemyBullets[9] & cannonBit) != 0) _terminal = true;

        if ((_aliens[9] & cannonBit) != 0) _terminal = true;
        if (_alienMoveTimer == 0)
        {
            _alienMoveTimer = Math.Min(_alienCount, _moveInterval);
            int columns = OccupiedColumns();
            if (((columns & 1) != 0 && _alienDirection < 0) || ((columns & (1 << 9)) != 0 && _alienDirection > 0))
            {
                _alienDirection = -_alienDirection;
                if (_aliens[9] != 0) _terminal = true;
                // np.roll down one row: the bottom row wraps to the top.
                int bottom = _aliens[9];
                Array.Copy(_aliens, 0, _aliens, 1, Size - 1);
                _aliens[0] = bottom;
            }
            else
            {
                // np.roll sideways within each row.
                for (int y = 0; y < Size; y++)
                {
                    int row = _aliens[y];
                    _aliens[y] = _alienDirection > 0 ? ((row << 1) | (row >> (Size - 1))) & RowBits : (row >> 1) | ((row & 1) << (Size - 1));
                }
            }
            if ((_aliens[9] & cannonBit) != 0) _terminal = true;
        }
        if (_alienShotTimer == 0)
        {
            _alienShotTimer = EnemyShotInterval;
            int columnBit = 1 << NearestAlienColumn();
            for (int y = 9; y >= 0; y--)
            {
                if ((_aliens[y] & columnBit) != 0)
                {
                    _enemyBullets[y] |= columnBit;
                    break;
                }
            }
        }

        for (int y = 0; y < Size; y++)
        {
            int hits = _aliens[y] & _friendlyBullets[y];
            if (hits == 0) continue;
            _aliens[y] &= ~hits;
            _friendlyBullets[y] &= ~hits;
            int killed = System.Numerics.BitOperations.PopCount((uint)hits);
            _alienCount -= killed;
            reward += killed;
        }

        if (_shotTimer > 0) _shotTimer--;
        _alienMoveTimer--;
        _alienShotTimer--;
        if (_alienCount == 0)
        {
            // A cleared wave: the next one moves faster.
            if (_moveInterval > MinimumMoveInterval && Ramping) _moveInterval--;
            FillAliens();
        }
        return (reward, _terminal);
    }

    private int OccupiedColumns()
    {
        int columns = 0;
        foreach (int row in _aliens) columns |= row;
        return columns;
    }

    /// <summary>The occupied column closest to the cannon, the left one on ties (a stable sort by distance).</summary>
    private int NearestAlienColumn()
    {
        int columns = OccupiedColumns();
        for (int distance = 0; distance < Size; distance++)
        {
            int left = _cannonX - distance, right = _cannonX + distance;
            if (left >= 0 && (columns & (1 << left)) != 0) return left;
            if (distance > 0 && right <= 9 && (columns & (1 << right)) != 0) return right;
        }
        throw new InvalidOperationException("Space Invaders has no aliens left to fire; the wave should have been refilled.");
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, 9, _cannonX, Cannon);
        int directionPlane = _alienDirection < 0 ? AlienLeft : AlienRight;
        for (int y = 0; y < Size; y++)
        {
            int aliens = _aliens[y], friendly = _friendlyBullets[y], enemy = _enemyBullets[y];
            if ((aliens | friendly | enemy) == 0) continue;
            for (int x = 0; x < Size; x++)
            {
                int bit = 1 << x, cell = Index(y, x, 0);
                if ((aliens & bit) != 0)
                {
                    observation[cell + Alien] = 1f;
                    observation[cell + directionPlane] = 1f;
                }
                if ((friendly & bit) != 0) observation[cell + FriendlyBullet] = 1f;
                if ((enemy & bit) != 0) observation[cell + EnemyBullet] = 1f;
            }
        }
    }
}
