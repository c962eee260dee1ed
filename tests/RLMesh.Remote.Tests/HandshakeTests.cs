using Xunit;
using System.Net.WebSockets;
using Google.Protobuf;
using RLMesh.Core.Envs;
using RLMesh.Messaging.Protos;
using RLMesh.Remote.Env;
using RLMesh.Remote.Protocol;

namespace RLMesh.Remote.Tests;

public sealed class HandshakeTests
{
    [Fact]
    public async Task RunnerWithTheSameMajorVersionIsWelcomedAndRegistered()
    {
        await using var rig = await LoopbackRig.StartAsync();
        await rig.AddRunnerAsync("runner-a", envs: 3);
        var runner = Assert.Single(rig.Server.Runners.Snapshot());
        Assert.Equal("runner-a", runner.Id);
        Assert.Equal(3, runner.MaxEnvs);
        Assert.Equal(new Discrete(2), runner.ActionSpace);
    }

    [Fact]
    public async Task RunnerWithAnotherMajorVersionIsRefusedWithAClearMessage()
    {
        await using var rig = await LoopbackRig.StartAsync();
        var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions { Url = rig.Server.EnvUrl, EnvId = "CartPole-v1", ProtocolMajor = RemoteProtocol.Major + 1 });
        var error = await Assert.ThrowsAsync<RemoteProtocolException>(() => runner.RunAsync(rig.Token));
        Assert.Contains("protocol version mismatch", error.Message);
        Assert.Contains($"runner speaks {RemoteProtocol.Major + 1}.", error.Message);
        Assert.Equal(0, rig.Server.Runners.Count);
        Assert.Equal(1, rig.Server.RejectedFrames);
    }

    [Fact]
    public async Task RunnerHostingAnotherEnvironmentIsRefused()
    {
        await using var rig = await LoopbackRig.StartAsync("CartPole-v1");
        var runner = new RemoteEnvRunner(new RemoteEnvRunnerOptions { Url = rig.Server.EnvUrl, EnvId = "Acrobot-v1" });
        var error = await Assert.ThrowsAsync<RemoteProtocolException>(() => runner.RunAsync(rig.Token));
        Assert.Contains("wants CartPole-v1 runners", error.Message);
    }

    [Fact]
    public async Task MalformedFramesAreAnsweredWithAnErrorFrameCountedAndTheServerKeepsServing()
    {
        await using var rig = await LoopbackRig.StartAsync();
        using (var raw = new ClientWebSocket())
        {
            await raw.ConnectAsync(rig.Server.EnvUrl, rig.Token);
            var socket = new FrameSocket(raw);
            await socket.SendRawAsync(new byte[] { 0xff, 0xff, 0xff, 0x07, 0x01 }, rig.Token);
            var reply = await socket.ReceiveAsync(rig.Token);
            Assert.Equal(RemoteFrame.BodyOneofCase.Error, reply!.BodyCase);
            Assert.Equal(RemoteErrorCode.MalformedFrame, reply.Error.Code);

            // Still the same connection: a frame that parses but is not a Hello is refused too.
            await socket.SendAsync(new RemoteFrame { Goodbye = new Goodbye { Reason = "x" } }, rig.Token);
            reply = await socket.ReceiveAsync(rig.Token);
            Assert.Equal(RemoteErrorCode.UnexpectedFrame, reply!.Error.Code);
        }
        Assert.Equal(2, rig.Server.RejectedFrames);

        await rig.AddRunnerAsync("after-garbage", envs: 2);
        using var env = await RemoteVectorEnv.CreateAsync(rig.Server, 2, null, rig.Token);
        var reset = env.Reset(seed: 5);
        Assert.Equal(8, reset.Observations.Length);
        var step = env.Step(new float[] { 0, 1 });
        Assert.Equal(new[] { 1f, 1f }, step.Rewards);
    }

    [Fact]
    public async Task MalformedStepResultFromARunnerIsRejectedWithoutStoppingTheServer()
    {
        await using var rig = await LoopbackRig.StartAsync();
        using var raw = new ClientWebSocket();
        await raw.ConnectAsync(rig.Server.EnvUrl, rig.Token);
        var socket = new FrameSocket(raw);
        var spec = EnvRegistry.Spec("CartPole-v1");
        await socket.SendAsync(new RemoteFrame
        {
            Hello = new Hello
            {
                ProtocolMajor = RemoteProtocol.Major, Capabilities = RemoteProtocol.Flag(Capability.RemoteEnv), RunnerId = "liar",
                EnvId = "CartPole-v1", NumEnvs = 1,
                ObservationSpace = RemoteProtocol.ToSpec(spec.ObservationSpace), ActionSpace = RemoteProtocol.ToSpec(spec.ActionSpace),
            },
        }, rig.Token);
        Assert.Equal(RemoteFrame.BodyOneofCase.Welcome, (await socket.ReceiveAsync(rig.Token))!.BodyCase);
        await socket.SendRawAsync(new byte[] { 0x0a, 0x80 }, rig.Token);
        Assert.Equal(RemoteErrorCode.MalformedFrame, (await socket.ReceiveAsync(rig.Token))!.Error.Code);

        var env = await RemoteVectorEnv.CreateAsync(rig.Server, 1, null, rig.Token);
        var resetTask = Task.Run(() => env.Reset(seed: 1));
        var request = await socket.ReceiveAsync(rig.Token);
        Assert.Equal(RemoteFrame.BodyOneofCase.Reset, request!.BodyCase);
        // Three floats where four are due.
        await socket.SendAsync(new RemoteFrame { ResetResult = new RemoteResetResult { Observations = ByteString.CopyFrom(new byte[12]) } }, rig.Token);
        var error = await Assert.ThrowsAsync<RemoteEnvException>(() => resetTask);
        Assert.Contains("observations has 12 bytes, expected 16", error.Message);
        Assert.Equal(new[] { 0 }, error.Slots);

        await rig.AddRunnerAsync("honest", envs: 1);
        using var next = await RemoteVectorEnv.CreateAsync(rig.Server, 1, null, rig.Token);
        Assert.Equal(4, next.Reset(seed: 1).Observations.Length);
    }
}
