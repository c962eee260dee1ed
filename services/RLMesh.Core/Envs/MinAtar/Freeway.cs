namespace RLMesh.Core.Envs.MinAtar;

/// <summary>
/// MinAtar Freeway: a chicken in column 4 crosses eight lanes of cars (+1 per crossing); a hit sends it back to
/// the bottom. The game ends after 2500 steps (2501 steps in all). Channels: chicken, car, speed1..speed5 (each
/// car's trail cell, on the plane of its speed).
/// </summary>
internal sealed class Freeway : MinAtarGame
{
    private const int Chicken = 0, Car = 1, Speed1 = 2;
    private const int Cars = 8;
    private const int ChickenX = 4;
    private const int PlayerSpeed = 3;
    private const int TimeLimit = 2500;

    // Car i is on row i + 1; velocity's sign is its direction, its size the speed (moves every |v| + 1 steps).
    private readonly int[] _x = new int[Cars];
    private readonly int[] _timer = new int[Cars];
    private readonly int[] _velocity = new int[Cars];
    private readonly int[] _speeds = new int[Cars];
    private readonly double[] _directions = new double[Cars];
    private int _chickenY, _moveTimer, _terminateTimer;
    private bool _terminal;

    public Freeway(NumPyRandomState random) : base(random, ramping: false) { }

    public override string Name => "Freeway";
    public override int Channels => 7;
    public override int[] MinimalActionSet => [MinAtarAction.NoOp, MinAtarAction.Up, MinAtarAction.Down];

    public override void Reset()
    {
        Array.Clear(_x);
        RandomizeCars();
        _chickenY = 9;
        _moveTimer = PlayerSpeed;
        _terminateTimer = TimeLimit;
        _terminal = false;
    }

    /// <summary>New speeds and directions for every car (positions stay): randint(1, 6, 8), then rand(8).</summary>
    private void RandomizeCars()
    {
        Random.RandInt(1, 6, _speeds);
        Random.Rand(_directions);
        for (int i = 0; i < Cars; i++)
        {
            int v = _directions[i] > 0.5 ? _speeds[i] : -_speeds[i];
            _velocity[i] = v;
            _timer[i] = Math.Abs(v);
        }
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;

        if (action == MinAtarAction.Up && _moveTimer == 0)
        {
            _moveTimer = PlayerSpeed;
            _chickenY = Math.Max(0, _chickenY - 1);
        }
        else if (action == MinAtarAction.Down && _moveTimer == 0)
        {
            _moveTimer = PlayerSpeed;
            _chickenY = Math.Min(9, _chickenY + 1);
        }

        if (_chickenY == 0)
        {
            reward += 1;
            RandomizeCars();
            _chickenY = 9;
        }

        for (int i = 0; i < Cars; i++)
        {
            if (_x[i] == ChickenX && i + 1 == _chickenY) _chickenY = 9;
            if (_timer[i] == 0)
            {
                _timer[i] = Math.Abs(_velocity[i]);
                _x[i] += _velocity[i] > 0 ? 1 : -1;
                if (_x[i] < 0) _x[i] = 9;
                else if (_x[i] > 9) _x[i] = 0;
                if (_x[i] == ChickenX && i + 1 == _chickenY) _chickenY = 9;
            }
            else
            {
                _timer[i]--;
            }
        }

        if (_moveTimer > 0) _moveTimer--;
        _terminateTimer--;
        if (_terminateTimer < 0) _terminal = true;
        return (reward, _terminal);
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, _chickenY, ChickenX, Chicken);
        for (int i = 0; i < Cars; i++)
        {
            int y = i + 1;
            Set(observation, y, _x[i], Car);
            int backX = _velocity[i] > 0 ? _x[i] - 1 : _x[i] + 1;
            if (backX < 0) backX = 9;
            else if (backX > 9) backX = 0;
            Set(observation, y, backX, Speed1 + Math.Abs(_velocity[i]) - 1);
        }
    }
}
