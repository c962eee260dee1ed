namespace RLMesh.Core.Runtime;

/// <summary>Mean of the last N episode returns, O(1) per episode.</summary>
public sealed class ReturnWindow(int size)
{
    private readonly double[] _returns = new double[size];
    private int _next, _count;
    private double _sum;

    public int Count => _count;
    public bool IsFull => _count == _returns.Length;
    public double? Mean => _count == 0 ? null : _sum / _count;

    public void Add(double value)
    {
        if (_count == _returns.Length) _sum -= _returns[_next];
        else _count++;
        _returns[_next] = value;
        _sum += value;
        _next = (_next + 1) % _returns.Length;
        // Re-sum occasionally so floating-point drift cannot accumulate over millions of episodes.
        if (_next == 0)
        {
            _sum = 0;
            for (int i = 0; i < _count; i++) _sum += _returns[i];
        }
    }
}
