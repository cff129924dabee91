namespace TypedMqtt.Benchmarks;

internal static class Machine
{
    public static string Describe()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
            // Not Linux.
        }

        return $"{Environment.ProcessorCount} cores, {model}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
    }
}
