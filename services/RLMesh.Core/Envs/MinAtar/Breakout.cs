namespace RLMesh.Core.Envs.MinAtar;

/// <summary>
/// MinAtar Breakout: a paddle on the bottom row, a ball moving one cell diagonally per step, three rows of
/// bricks that refill once cleared. Channels: paddle, ball, trail (the ball's previous cell), brick.
/// </summary>
internal sealed class Breakout : MinAtarGame
{
    private const int Paddle = 0, Ball = 1, Trail = 2, Brick = 3;
    // Ball directions: 0 up-left, 1 up-right, 2 down-right, 3 down-left.
    private static readonly int[] ReflectX = [1, 0, 3, 2];
    private static readonly int[] ReflectY = [3, 2, 1, 0];
    private static readonly int[] Reverse = [2, 3, 0, 1];

    private readonly bool[] _bricks = new bool[Size * Size];
    private int _bricksLeft;
    private int _ballX, _ballY, _ballDir, _lastX, _lastY, _paddleX;
    private bool _strike, _terminal;

    public Breakout(NumPyRandomState random) : base(random, ramping: false) { }

    public override string Name => "Breakout";
    public override int Channels => 4;
    public override int[] MinimalActionSet => [MinAtarAction.NoOp, MinAtarAction.Left, MinAtarAction.Right];

    public override void Reset()
    {
        _ballY = 3;
        bool fromRight = Random.RandInt(2) == 1;
        _ballX = fromRight ? 9 : 0;
        _ballDir = fromRight ? 3 : 2;
        _paddleX = 4;
        FillBricks();
        _strike = false;
        _lastX = _ballX;
        _lastY = _ballY;
        _terminal = false;
    }

    private void FillBricks()
    {
        Array.Clear(_bricks);
        for (int i = Size; i < 4 * Size; i++) _bricks[i] = true;
        _bricksLeft = 3 * Size;
    }

    public override (double Reward, bool Terminal) Act(int action)
    {
        if (_terminal) return (0, true);
        double reward = 0;
        if (action == MinAtarAction.Left) _paddleX = Math.Max(0, _paddleX - 1);
        else if (action == MinAtarAction.Right) _paddleX = Math.Min(9, _paddleX + 1);

        _lastX = _ballX;
        _lastY = _ballY;
        int newX = _ballX + (_ballDir is 1 or 2 ? 1 : -1);
        int newY = _ballY + (_ballDir is 2 or 3 ? 1 : -1);

        bool struckNow = false;
        if (newX < 0 || newX > 9)
        {
            newX = Math.Clamp(newX, 0, 9);
            _ballDir = ReflectX[_ballDir];
        }
        if (newY < 0)
        {
            newY = 0;
            _ballDir = ReflectY[_ballDir];
        }
        else if (_bricks[newY * Size + newX])
        {
            struckNow = true;
            // The strike flag stops the ball clearing two bricks on consecutive steps.
            if (!_strike)
            {
                reward += 1;
                _strike = true;
                _bricks[newY * Size + newX] = false;
                _bricksLeft--;
                newY = _lastY;
                _ballDir = ReflectY[_ballDir];
            }
        }
        else if (newY == 9)
        {
            if (_bricksLeft == 0) FillBricks();
            if (_ballX == _paddleX)
            {
                _ballDir = ReflectY[_ballDir];
                newY = _lastY;
            }
            else if (newX == _paddleX)
            {
                _ballDir = Reverse[_ballDir];
                newY = _lastY;
            }
            else
            {
                _terminal = true;
            }
        }
        if (!struckNow) _strike = false;

        _ballX = newX;
        _ballY = newY;
        return (reward, _terminal);
    }

    public override void WriteState(Span<float> observation)
    {
        Set(observation, _ballY, _ballX, Ball);
        Set(observation, 9, _paddleX, Paddle);
        Set(observation, _lastY, _lastX, Trail);
        for (int i = 0; i < _bricks.Length; i++)
        {
            if (_bricks[i]) observation[i * Channels + Brick] = 1f;
        }
    }
}
