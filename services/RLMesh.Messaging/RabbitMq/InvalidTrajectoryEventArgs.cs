namespace RLMesh.Messaging.RabbitMq;

/// <summary>A delivery that failed decoding or validation and was dead-lettered.</summary>
public sealed class InvalidTrajectoryEventArgs(string queue, ulong deliveryTag, int bodyLength, string reason) : EventArgs
{
    public string Queue { get; } = queue;
    public ulong DeliveryTag { get; } = deliveryTag;
    public int BodyLength { get; } = bodyLength;
    public string Reason { get; } = reason;
}
