namespace Pelint.Configuration;

/// <summary>
/// An editorconfig section glob: <c>*</c> (within a folder), <c>**</c> (any depth), <c>?</c>,
/// <c>[abc]</c>, <c>[a-z]</c>, <c>[!abc]</c>, <c>{a,b}</c> (nested too). A glob without '/' matches the file
/// name in any folder below the .editorconfig; one with '/' is relative to the .editorconfig's folder.
/// <para>
/// Matching never backtracks: the glob is compiled to a nondeterministic automaton whose set of
/// live states advances one character at a time, so a match costs at most (path length x glob
/// length) steps whatever the wildcards (<c>[*a*a*a*a*b.dll]</c> against a 200-character name is
/// instant; a backtracking regex took over 20 s).
/// </para>
/// </summary>
public sealed class EditorConfigGlob
{
    /// <summary>Longest glob compiled; a longer section header is reported and matches nothing.</summary>
    public const int MaxPatternLength = 4096;

    private readonly State[] _states;
    private readonly int _start;

    private EditorConfigGlob(string pattern, State[] states, int start)
    {
        Pattern = pattern;
        _states = states;
        _start = start;
    }

    public string Pattern { get; }

    /// <summary>A section that matches no file (an unclosed or over-long header: its keys must not leak into another section).</summary>
    public static EditorConfigGlob Never(string pattern) => new(pattern, [], 0);

    /// <summary>Whether the glob could not be compiled (over <see cref="MaxPatternLength"/>); it then matches nothing.</summary>
    public bool IsInvalid => _states.Length == 0;

    public static EditorConfigGlob Compile(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.Length > MaxPatternLength)
        {
            return Never(pattern);
        }

        var glob = pattern.Replace('\\', '/');
        glob = glob.Contains('/', StringComparison.Ordinal) ? glob.TrimStart('/') : "**/" + glob;
        var builder = new Builder();
        var position = 0;
        var (start, end) = builder.Sequence(glob, ref position, topLevel: true);
        builder.SetAccept(end);
        return new EditorConfigGlob(pattern, [.. builder.States], start);
    }

    /// <summary>Matches a path relative to the .editorconfig's folder, with '/' separators.</summary>
    public bool IsMatch(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        if (_states.Length == 0 || relativePath.StartsWith("../", StringComparison.Ordinal))
        {
            return false;
        }

        var current = new List<int>();
        var next = new List<int>();
        var mark = new int[_states.Length];
        var stack = new Stack<int>();
        var generation = 1;
        AddClosure(_start, current, mark, generation, stack);
        foreach (var c in relativePath)
        {
            generation++;
            next.Clear();
            foreach (var s in current)
            {
                if (_states[s].Consumes(c))
                {
                    AddClosure(_states[s].Next, next, mark, generation, stack);
                }
            }

            (current, next) = (next, current);
            if (current.Count == 0)
            {
                return false;
            }
        }

        return current.Exists(s => _states[s].Kind == StateKind.Accept);
    }

    // Adds a state and everything reachable from it without consuming a character.
    private void AddClosure(int state, List<int> set, int[] mark, int generation, Stack<int> stack)
    {
        stack.Push(state);
        while (stack.Count > 0)
        {
            var s = stack.Pop();
            if (s < 0 || mark[s] == generation)
            {
                continue;
            }

            mark[s] = generation;
            var st = _states[s];
            if (st.Kind == StateKind.Split)
            {
                foreach (var t in st.Targets!)
                {
                    stack.Push(t);
                }
            }
            else
            {
                set.Add(s);
            }
        }
    }

    private enum StateKind
    {
        Char,       // one given character
        AnyButSlash,
        Any,
        Class,
        Split,      // epsilon moves to Targets
        Accept,
    }

    private sealed class State
    {
        public StateKind Kind { get; set; }

        public char Char { get; init; }

        public bool Negated { get; init; }

        public (char From, char To)[]? Ranges { get; init; }

        public List<int>? Targets { get; set; }

        public int Next { get; set; } = -1;

        public bool Consumes(char c) => Kind switch
        {
            StateKind.Char => c == Char,
            StateKind.AnyButSlash => c != '/',
            StateKind.Any => true,
            StateKind.Class => c != '/' && Ranges!.Any(r => c >= r.From && c <= r.To) != Negated,
            _ => false,
        };
    }

    // Thompson construction: each piece is a fragment (start state, end state); the end state is
    // a Split whose targets are filled when the next piece is appended.
    private sealed class Builder
    {
        public List<State> States { get; } = [];

        public void SetAccept(int end)
        {
            var accept = Add(new State { Kind = StateKind.Accept });
            Link(end, accept);
        }

        public (int Start, int End) Sequence(string glob, ref int i, bool topLevel)
        {
            var start = Add(Split());
            var end = start;
            while (i < glob.Length)
            {
                var c = glob[i];
                if (!topLevel && c is ',' or '}')
                {
                    break;
                }

                i++;
                switch (c)
                {
                    case '*' when i < glob.Length && glob[i] == '*':
                        i++;
                        if (i < glob.Length && glob[i] == '/')
                        {
                            // "**/": no folder at all, or any characters ending in '/'.
                            i++;
                            var loop = Add(new State { Kind = StateKind.Any });
                            var slash = Add(new State { Kind = StateKind.Char, Char = '/' });
                            var after = Add(Split());
                            var entry = Add(Split());
                            States[entry].Targets!.AddRange([loop, after]);
                            var back = Add(Split());
                            States[loop].Next = back;
                            States[back].Targets!.AddRange([loop, slash]);
                            States[slash].Next = after;
                            Link(end, entry);
                            end = after;
                        }
                        else
                        {
                            end = Star(end, StateKind.Any);
                        }

                        break;
                    case '*':
                        end = Star(end, StateKind.AnyButSlash);
                        break;
                    case '?':
                        end = Single(end, new State { Kind = StateKind.AnyButSlash });
                        break;
                    case '[' when ClassEnd(glob, i) is var close and > 0:
                        end = Single(end, Class(glob[i..close]));
                        i = close + 1;
                        break;
                    case '{' when BraceEnd(glob, i) > 0:
                        var alternatives = new List<(int Start, int End)>();
                        while (true)
                        {
                            alternatives.Add(Sequence(glob, ref i, topLevel: false));
                            if (i < glob.Length && glob[i] == ',')
                            {
                                i++;
                                continue;
                            }

                            i++; // '}'
                            break;
                        }

                        var join = Add(Split());
                        var fork = Add(Split());
                        foreach (var (s, e) in alternatives)
                        {
                            States[fork].Targets!.Add(s);
                            Link(e, join);
                        }

                        Link(end, fork);
                        end = join;
                        break;
                    case '\\' when i < glob.Length:
                        end = Single(end, new State { Kind = StateKind.Char, Char = glob[i++] });
                        break;
                    default:
                        end = Single(end, new State { Kind = StateKind.Char, Char = c });
                        break;
                }
            }

            return (start, end);
        }

        private int Star(int end, StateKind kind)
        {
            var loop = Add(new State { Kind = kind });
            var after = Add(Split());
            var entry = Add(Split());
            States[entry].Targets!.AddRange([loop, after]);
            States[loop].Next = entry;
            Link(end, entry);
            return after;
        }

        private int Single(int end, State state)
        {
            var s = Add(state);
            var after = Add(Split());
            States[s].Next = after;
            Link(end, s);
            return after;
        }

        private void Link(int from, int to) => States[from].Targets!.Add(to);

        private int Add(State state)
        {
            States.Add(state);
            return States.Count - 1;
        }

        private static State Split() => new() { Kind = StateKind.Split, Targets = [] };

        private static State Class(string body)
        {
            var negated = body.StartsWith('!') || body.StartsWith('^');
            if (negated)
            {
                body = body[1..];
            }

            var ranges = new List<(char, char)>();
            for (var k = 0; k < body.Length; k++)
            {
                if (k + 2 < body.Length && body[k + 1] == '-')
                {
                    ranges.Add((body[k], body[k + 2]));
                    k += 2;
                }
                else
                {
                    ranges.Add((body[k], body[k]));
                }
            }

            return new State { Kind = StateKind.Class, Negated = negated, Ranges = [.. ranges] };
        }

        // The ']' closing a class that opens before i (at i - 1), or -1; an empty class is literal.
        private static int ClassEnd(string glob, int i)
        {
            var close = glob.IndexOf(']', i);
            return close > i && glob.IndexOf('/', i, close - i) < 0 ? close : -1;
        }

        // Whether the brace opening before i (at i - 1) is closed; an unclosed one is literal.
        private static int BraceEnd(string glob, int i)
        {
            var depth = 1;
            for (var k = i; k < glob.Length; k++)
            {
                if (glob[k] == '\\')
                {
                    k++;
                }
                else if (glob[k] == '{')
                {
                    depth++;
                }
                else if (glob[k] == '}' && --depth == 0)
                {
                    return k;
                }
            }

            return -1;
        }
    }
}
