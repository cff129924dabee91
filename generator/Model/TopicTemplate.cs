using TypedMqtt.Topics;

namespace TypedMqtt.Generator.Model;

/// <summary>Parses a topic template such as <c>home/{room}/temperature</c> into levels and checks it with the shared topic rules.</summary>
internal sealed class TopicTemplate
{
    private TopicTemplate(string text) => Text = text;

    public string Text { get; }

    public List<TemplateLevel> Levels { get; } = [];

    /// <summary>Template parameters in template order.</summary>
    public List<TemplateLevel> Parameters { get; } = [];

    /// <summary>Syntax error (TMQ0003), if any.</summary>
    public string? Error { get; private set; }

    /// <summary>A parameter used twice (TMQ0006), if any.</summary>
    public string? Duplicate { get; private set; }

    /// <summary>True when every level parsed and no parameter repeats, so parameters can be bound to a method.</summary>
    public bool HasKnownParameters => Error is null && Duplicate is null;

    /// <summary>The subscription filter: parameters become '+', a catch-all '#'.</summary>
    public string Filter => FilterOf(Levels);

    /// <summary>The filter of a template's levels: each parameter becomes <c>+</c>, a catch-all <c>#</c>.</summary>
    public static string FilterOf(IEnumerable<TemplateLevel> levels) => string.Join("/", levels.Select(l => l.Parameter is null ? l.Text : l.IsCatchAll ? "#" : "+"));

    /// <summary>A concrete topic with every parameter replaced by a sample value.</summary>
    public string SampleTopic => string.Join("/", Levels.Select(l => l.Parameter is null ? l.Text : "x"));

    public static TopicTemplate Parse(string text)
    {
        var template = new TopicTemplate(text);
        if (text.Length == 0)
        {
            template.Error = "it is empty; a topic must have at least one character";
            return template;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var levels = text.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level.IndexOf('{') < 0 && level.IndexOf('}') < 0)
            {
                template.Levels.Add(new TemplateLevel(level, null, false));
                continue;
            }

            var catchAll = level.StartsWith("{*", StringComparison.Ordinal);
            var name = level.Length >= 2 && level[0] == '{' && level[level.Length - 1] == '}'
                ? level.Substring(catchAll ? 2 : 1, level.Length - (catchAll ? 3 : 2))
                : null;
            if (name is null || !IsIdentifier(name))
            {
                template.Error ??= $"level '{level}' must be plain text or exactly one parameter such as '{{room}}' (a parameter is a whole level, named like a C# identifier)";
                continue;
            }

            if (catchAll && i != levels.Length - 1)
            {
                template.Error ??= $"the catch-all '{level}' must be the last level";
                continue;
            }

            if (!seen.Add(name))
            {
                template.Duplicate ??= name;
            }

            var parameter = new TemplateLevel(level, name, catchAll);
            template.Levels.Add(parameter);
            template.Parameters.Add(parameter);
        }

        return template;
    }

    /// <summary>Checks the template as a publish topic: returns (wildcard, error).</summary>
    public (char? Wildcard, string? Error) CheckAsTopicName()
    {
        if (Error is not null)
        {
            return (null, Error);
        }

        foreach (var level in Levels)
        {
            if (level.Parameter is null && level.Text.IndexOfAny(['+', '#']) is var index and >= 0)
            {
                return (level.Text[index], null);
            }
        }

        var error = TopicRules.CheckTopicName(SampleTopic);
        return (null, error is null ? null : Lowercase(error));
    }

    /// <summary>Checks the template as a subscription filter.</summary>
    public string? CheckAsFilter()
    {
        if (Error is not null)
        {
            return Error;
        }

        if (Levels.Count > 0 && Levels[0].Parameter is null && Levels[0].Text == "$share")
        {
            return "shared subscriptions are declared with SharedGroup = \"group\", not in the template";
        }

        var error = TopicRules.CheckTopicFilter(Filter);
        return error is null ? null : Lowercase(error);
    }

    private static string Lowercase(string sentence) =>
        sentence.Length == 0 ? sentence : char.ToLowerInvariant(sentence[0]) + sentence.Substring(1).TrimEnd('.');

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
