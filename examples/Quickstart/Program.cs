using Quickstart;
using TypedMqtt;

await using var broker = await EmbeddedMqttBroker.StartAsync();
await using var home = await HomeClient.ConnectAsync(broker.Address, o => o.Will(new DeviceStatus(false, "lost")));
await using var sub = await home.OnTemperatureAsync((room, t, ctx, ct) => { Console.WriteLine($"{room}: {t.Celsius} retain={ctx.Retain} ct={ctx.ContentType}"); return Task.CompletedTask; });
await home.PublishTemperatureAsync("kitchen", new Temperature(21.5, DateTimeOffset.UtcNow));
await Task.Delay(500);
