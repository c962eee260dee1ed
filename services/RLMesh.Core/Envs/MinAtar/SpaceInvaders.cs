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

    private readonly bool[] _aliens = new bool[Size * Size];
    private readonly bool[] _friendlyBullets = new bool[Size * Size];
    private readonly bool[] _enemyBullets = new bool[Size * Size];
    private readonly bool[] _scratch = new bool[Size * Size];
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
        for (int y = 0; y < 4; y++)
        {
            for (int x = 2; x < 8; x++) _aliens[y * Size + x] = true;
        }
        _alienCount = 24;
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;

        if (action == MinAtarAction.Fire && _shotTimer == 0)
        {
            _friendlyBullets[9 * Size + _cannonX] = true;
            _shotTimer = ShotCooldown;
        }
        else if (action == MinAtarAction.Left) _cannonX = Math.Max(0, _cannonX - 1);
        else if (action == MinAtarAction.Right) _cannonX = Math.Min(9, _cannonX + 1);

        // Friendly bullets rise a row (leaving the top), enemy bullets fall a row (leaving the bottom).
        ShiftRows(_friendlyBullets, -1);
        ShiftRows(_enemyBullets, 1);
        if (_enemyBullets[9 * Size + _cannonX]) _terminal = true;

        if (_aliens[9 * Size + _cannonX]) _terminal = true;
        if (_alienMoveTimer == 0)
        {
            _alienMoveTimer = Math.Min(_alienCount, _moveInterval);
            if ((ColumnOccupied(0) && _alienDirection < 0) || (ColumnOccupied(9) && _alienDirection > 0))
            {
                _alienDirection = -_alienDirection;
                if (RowOccupied(9)) _terminal = true;
                RollRowsDown(_aliens);
            }
            else
            {
                RollColumns(_aliens, _alienDirection);
            }
            if (_aliens[9 * Size + _cannonX]) _terminal = true;
        }
        if (_alienShotTimer == 0)
        {
            _alienShotTimer = EnemyShotInterval;
            int column = NearestAlienColumn();
            for (int y = 9; y >= 0; y--)
            {
                if (_aliens[y * Size + column])
                {
                    _enemyBullets[y * Size + column] = true;
                    break;
                }
            }
        }

        for (int i = 0; i < _aliens.Length; i++)
        {
            if (_aliens[i] && _friendlyBullets[i])
            {
                _aliens[i] = false;
                _friendlyBullets[i] = false;
                _alienCount--;
                reward += 1;
            }
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

    /// <summary>The occupied column closest to the cannon, the left one on ties (a stable sort by distance).</summary>
    private int NearestAlienColumn()
    {
        for (int distance = 0; distance < Size; distance++)
        {
            int left = _cannonX - distance, right = _cannonX + distance;
            if (left >= 0 && ColumnOccupied(left)) return left;
            if (distance > 0 && right <= 9 && ColumnOccupied(right)) return right;
        }
        throw new InvalidOperationException("Space Invaders has no aliens left to fire; the wave should have been refilled.");
    }

    private bool ColumnOccupied(int x)
    {
        for (int y = 0; y < Size; y++)
        {
            if (_aliens[y * Size + x]) return true;
        }
        return false;
    }

    private bool RowOccupied(int y)
    {
        for (int x = 0; x < Size; x++)
        {
            if (_aliens[y * Size + x]) return true;
        }
        return false;
    }

    /// <summary>Moves every row by dy (+1 down, -1 up); the row that enters is empty.</summary>
    private static void ShiftRows(bool[] map, int dy)
    {
        if (dy > 0)
        {
            Array.Copy(map, 0, map, Size, Size * (Size - 1));
            Array.Clear(map, 0, Size);
        }
        else
        {
            Array.Copy(map, Size, map, 0, Size * (Size - 1));
            Array.Clear(map, Size * (Size - 1), Size);
        }
    }

    /// <summary>np.roll by one row down: the bottom row wraps to the top.</summary>
    private void RollRowsDown(bool[] map)
    {
        Array.Copy(map, _scratch, map.Length);
        for (int i = 0; i < map.Length; i++) map[(i + Size) % map.Length] = _scratch[i];
    }

    /// <summary>np.roll by dx columns within each row (wrapping).</summary>
    private void RollColumns(bool[] map, int dx)
    {
        Array.Copy(map, _scratch, map.Length);
        for (int y = 0; y < Size; y++)
        {
            for (int x = 0; x < Size; x++) map[y * Size + (x + dx + Size) % Size] = _scratch[y * Size + x];
        }
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, 9, _cannonX, Cannon);
        int directionPlane = _alienDirection < 0 ? AlienLeft : AlienRight;
        for (int i = 0; i < _aliens.Length; i++)
        {
            int cell = i * Channels;
            if (_aliens[i])
            {
                observation[cell + Alien] = 1f;
                observation[cell + directionPlane] = 1f;
            }
            if (_friendlyBullets[i]) observation[cell + FriendlyBullet] = 1f;
            if (_enemyBullets[i]) observation[cell + EnemyBullet] = 1f;
        }
    }
}
