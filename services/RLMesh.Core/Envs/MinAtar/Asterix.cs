namespace RLMesh.Core.Envs.MinAtar;

/// <summary>
/// MinAtar Asterix: the player moves on rows 1-8; enemies and gold cross the eight lanes (one entity per lane).
/// Gold gives +1, an enemy ends the episode. Channels: player, enemy, trail, gold.
/// </summary>
internal sealed class Asterix : MinAtarGame
{
    private const int Player = 0, Enemy = 1, Trail = 2, Gold = 3;
    private const int Lanes = 8;
    private const int RampInterval = 100;
    private const int InitialSpawnInterval = 10;
    private const int InitialMoveInterval = 5;

    // Lane i is row i + 1.
    private readonly bool[] _present = new bool[Lanes];
    private readonly int[] _x = new int[Lanes];
    private readonly bool[] _movingRight = new bool[Lanes];
    private readonly bool[] _isGold = new bool[Lanes];
    private readonly int[] _freeLanes = new int[Lanes];
    private int _playerX, _playerY;
    private int _spawnInterval, _spawnTimer, _moveInterval, _moveTimer, _rampTimer, _rampIndex;
    private bool _terminal;

    public Asterix(NumPyRandomState random, bool ramping) : base(random, ramping) { }

    public override string Name => "Asterix";
    public override int Channels => 4;
    public override int[] MinimalActionSet
        => [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Up, MinAtarAction.Right, MinAtarAction.Down];

    public override void Reset()
    {
        _playerX = 5;
        _playerY = 5;
        Array.Clear(_present);
        _spawnInterval = InitialSpawnInterval;
        _spawnTimer = _spawnInterval;
        _moveInterval = InitialMoveInterval;
        _moveTimer = _moveInterval;
        _rampTimer = RampInterval;
        _rampIndex = 0;
        _terminal = false;
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;

        if (_spawnTimer == 0)
        {
            SpawnEntity();
            _spawnTimer = _spawnInterval;
        }

        switch (action)
        {
            case MinAtarAction.Left: _playerX = Math.Max(0, _playerX - 1); break;
            case MinAtarAction.Right: _playerX = Math.Min(9, _playerX + 1); break;
            case MinAtarAction.Up: _playerY = Math.Max(1, _playerY - 1); break;
            case MinAtarAction.Down: _playerY = Math.Min(8, _playerY + 1); break;
        }

        for (int i = 0; i < Lanes; i++)
        {
            if (_present[i]) reward += Collide(i);
        }
        if (_moveTimer == 0)
        {
            _moveTimer = _moveInterval;
            for (int i = 0; i < Lanes; i++)
            {
                if (!_present[i]) continue;
                _x[i] += _movingRight[i] ? 1 : -1;
                if (_x[i] < 0 || _x[i] > 9) _present[i] = false;
                else reward += Collide(i);
            }
        }

        _spawnTimer--;
        _moveTimer--;

        if (Ramping && (_spawnInterval > 1 || _moveInterval > 1))
        {
            if (_rampTimer >= 0)
            {
                _rampTimer--;
            }
            else
            {
                if (_moveInterval > 1 && _rampIndex % 2 == 1) _moveInterval--;
                if (_spawnInterval > 1) _spawnInterval--;
                _rampIndex++;
                _rampTimer = RampInterval;
            }
        }
        return (reward, _terminal);
    }

    /// <summary>Resolves the player touching lane i's entity: gold is collected, an enemy ends the game.</summary>
    private double Collide(int lane)
    {
        if (_x[lane] != _playerX || lane + 1 != _playerY) return 0;
        if (_isGold[lane])
        {
            _present[lane] = false;
            return 1;
        }
        _terminal = true;
        return 0;
    }

    private void SpawnEntity()
    {
        bool movingRight = Random.Rand() < 0.5;
        bool isGold = Random.Rand() < 1.0 / 3;
        int free = 0;
        for (int i = 0; i < Lanes; i++)
        {
            if (!_present[i]) _freeLanes[free++] = i;
        }
        if (free == 0) return;
        int lane = _freeLanes[Random.RandInt(free)];
        _present[lane] = true;
        _x[lane] = movingRight ? 0 : 9;
        _movingRight[lane] = movingRight;
        _isGold[lane] = isGold;
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, _playerY, _playerX, Player);
        for (int i = 0; i < Lanes; i++)
        {
            if (!_present[i]) continue;
            int y = i + 1;
            Set(observation, y, _x[i], _isGold[i] ? Gold : Enemy);
            int backX = _movingRight[i] ? _x[i] - 1 : _x[i] + 1;
            if (backX >= 0 && backX <= 9) Set(observation, y, backX, Trail);
        }
    }
}
