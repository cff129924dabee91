using System.Globalization;
using System.Text;

namespace TypedMqtt.Benchmarks;

/// <summary>The one table the suite prints: measurements by section, then the targets with PASS/FAIL.</summary>
internal sealed class Report
{
    private readonly List<(string Section, string[] Header, List<string[]> Rows)> _tables = [];
    private readonly List<(string Target, string Measured, bool Pass)> _targets = [];
    private readonly List<string> _notes = [];

    public static string F(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The median (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The value at fraction <paramref name="p"/> of the sorted values (nearest rank).</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Round(p * (sorted.Length - 1))];
    }

    public List<string[]> Table(string section, params string[] header)
    {
        var rows = new List<string[]>();
        _tables.Add((section, header, rows));
        return rows;
    }

    public void Target(string target, string measured, bool pass) => _targets.Add((target, measured, pass));

    public void Note(string note) => _notes.Add(note);

    public bool AllPass => _targets.All(t => t.Pass);

    public string Render()
    {
        var text = new StringBuilder();
        foreach (var (section, header, rows) in _tables)
        {
            text.AppendLine();
            text.AppendLine("### " + section);
            text.AppendLine();
            AppendTable(text, header, rows);
        }

        if (_targets.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Targets");
            text.AppendLine();
            AppendTable(text, ["target", "measured", "result"], _targets.Select(t => new[] { t.Target, t.Measured, t.Pass ? "PASS" : "FAIL" }).ToList());
        }

        foreach (var note in _notes)
        {
            text.AppendLine();
            text.AppendLine(note);
        }

        return text.ToString();
    }

    private static void AppendTable(StringBuilder text, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        void Line(string[] cells)
        {
            text.Append('|');
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = i < cells.Length ? cells[i] : string.Empty;
                var numeric = cell.Length > 0 && (char.IsDigit(cell[0]) || cell[0] is '-' or '+') && i > 0;
                text.Append(' ').Append(numeric ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i])).Append(" |");
            }

            text.AppendLine();
        }

        Line(header);
        text.Append('|');
        foreach (var width in widths)
        {
            text.Append(' ').Append(new string('-', width)).Append(" |");
        }

        text.AppendLine();
        foreach (var row in rows)
        {
            Line(row);
        }
    }
}
