using System.Text;
using System.Text.Json;

namespace Pelint.Sarif;

/// <summary>What <see cref="SarifStreamReader"/> met, in file order.</summary>
public abstract record SarifStreamItem(int RunIndex);

/// <summary>A member of a run other than <c>results</c> (tool, artifacts, invocations...), as raw JSON.</summary>
public sealed record SarifRunMember(int RunIndex, string Name, byte[] Json) : SarifStreamItem(RunIndex);

/// <summary>One result that deserialized and is usable (see <see cref="SarifSanitizer"/>).</summary>
public sealed record SarifResultItem(int RunIndex, SarifResult Result) : SarifStreamItem(RunIndex);

/// <summary>The end of a run: every member and result of it has been seen.</summary>
public sealed record SarifRunEnd(int RunIndex) : SarifStreamItem(RunIndex);

/// <summary>Something that could not be read; reading goes on when it can (a bad result), else stops.</summary>
public sealed record SarifProblem(int RunIndex, string Message) : SarifStreamItem(RunIndex);

/// <summary>
/// Reads a SARIF log as a stream: each result of <c>runs[*].results</c> is deserialized on its
/// own and handed over, so a log of a million results costs one result's memory, not the log's.
/// A run's other members are captured whole (they are small in any log pelint or another tool
/// writes), up to <see cref="MaxValueBytes"/>. Hostile or partial input never throws: it yields a
/// <see cref="SarifProblem"/>, and a result that is null, malformed or misses what a result needs
/// is skipped with one.
/// </summary>
public static class SarifStreamReader
{
    /// <summary>The largest single result or run member read (a larger one is skipped as a problem).</summary>
    public const int MaxValueBytes = 64 << 20;

    public static IEnumerable<SarifStreamItem> Read(Stream stream, int maxValueBytes = MaxValueBytes)
    {
        var source = new Source(stream);
        var run = -1;
        var resultIndex = 0;
        var depth = 0;           // container depth after the token just read
        var inRuns = false;      // inside the top-level "runs" array
        var inRun = false;       // inside one run object
        var inResults = false;   // inside a run's "results" array
        string? member = null;   // the run member whose value comes next
        var pending = new List<SarifStreamItem>();
        var first = true;
        while (true)
        {
            pending.Clear();
            bool more;
            try
            {
                more = source.Next(out var token);
                if (!more)
                {
                    if (depth != 0 || first)
                    {
                        pending.Add(new SarifProblem(Math.Max(run, 0), first ? "the file is empty" : "the log ends before its last value is closed (a truncated file?)"));
                    }
                }
                else if (first)
                {
                    first = false;
                    if (token != JsonTokenType.StartObject)
                    {
                        pending.Add(new SarifProblem(0, "the log is not a JSON object"));
                        more = false;
                    }
                    else
                    {
                        depth = 1;
                    }
                }
                else if (inResults && depth == 4 && token != JsonTokenType.EndArray)
                {
                    // One result: read it whole (or skip it whole) and deserialize it alone.
                    var index = resultIndex++;
                    if (!source.TryCaptureValue(token, maxValueBytes, out var json, out var tooLarge))
                    {
                        pending.Add(new SarifProblem(run, tooLarge ? $"result {index} of run {run} is over {maxValueBytes:N0} bytes; skipped" : "the log ends inside a result"));
                        more = !source.Ended;
                    }
                    else
                    {
                        pending.Add(ResultFrom(json, run, index));
                    }
                }
                else if (inRun && depth == 3 && member is not null && member != "results")
                {
                    var name = member;
                    member = null;
                    if (!source.TryCaptureValue(token, maxValueBytes, out var json, out var tooLarge))
                    {
                        pending.Add(new SarifProblem(run, tooLarge ? $"member '{name}' of run {run} is over {maxValueBytes:N0} bytes; ignored" : "the log ends inside a run"));
                        more = !source.Ended;
                    }
                    else
                    {
                        pending.Add(new SarifRunMember(run, name, json));
                    }
                }
                else
                {
                    switch (token)
                    {
                        case JsonTokenType.PropertyName when depth == 1 && !inRuns:
                            if (source.ValueTextEquals("runs"u8))
                            {
                                source.Next(out var runsToken);
                                if (runsToken == JsonTokenType.StartArray)
                                {
                                    inRuns = true;
                                    depth = 2;
                                }
                                else
                                {
                                    depth = runsToken == JsonTokenType.StartObject ? 2 : 1;
                                    pending.Add(new SarifProblem(0, "'runs' is not an array"));
                                }
                            }

                            break;
                        case JsonTokenType.PropertyName when inRun && depth == 3:
                            member = source.GetString();
                            if (member == "results")
                            {
                                member = null;
                                source.Next(out var resultsToken);
                                if (resultsToken == JsonTokenType.StartArray)
                                {
                                    inResults = true;
                                    depth = 4;
                                }
                                else
                                {
                                    if (resultsToken == JsonTokenType.StartObject)
                                    {
                                        depth = 4;
                                    }

                                    pending.Add(new SarifProblem(run, $"'results' of run {run} is not an array"));
                                }
                            }

                            break;
                        case JsonTokenType.StartObject or JsonTokenType.StartArray:
                            if (inRuns && depth == 2)
                            {
                                run++;
                                resultIndex = 0;
                                if (token == JsonTokenType.StartObject)
                                {
                                    inRun = true;
                                }
                                else
                                {
                                    pending.Add(new SarifProblem(run, $"run {run} is not an object"));
                                }
                            }

                            depth++;
                            break;
                        case JsonTokenType.EndObject or JsonTokenType.EndArray:
                            depth--;
                            if (inResults && depth == 3)
                            {
                                inResults = false;
                            }
                            else if (inRun && depth == 2)
                            {
                                inRun = false;
                                pending.Add(new SarifRunEnd(run));
                            }
                            else if (inRuns && depth == 1)
                            {
                                inRuns = false;
                            }

                            break;
                        case JsonTokenType.Null or JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                            if (inRuns && depth == 2)
                            {
                                run++;
                                pending.Add(new SarifProblem(run, $"run {run} is not an object"));
                            }

                            break;
                    }
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                // InvalidOperationException: a string that is not UTF-8 once unescaped (found by AFL++).
                pending.Add(new SarifProblem(Math.Max(run, 0), $"not valid JSON at byte {source.Position:N0}: {e.Message}"));
                more = false;
            }
            catch (IOException e)
            {
                pending.Add(new SarifProblem(Math.Max(run, 0), $"cannot read the log: {e.Message}"));
                more = false;
            }

            foreach (var item in pending)
            {
                yield return item;
            }

            if (!more)
            {
                if (inRun)
                {
                    yield return new SarifRunEnd(run);
                }

                yield break;
            }
        }
    }

    private static SarifStreamItem ResultFrom(byte[] json, int run, int index)
    {
        try
        {
            var result = JsonSerializer.Deserialize(json, SarifJsonContext.Default.SarifResult);
            return SarifSanitizer.Clean(result) is { } clean
                ? new SarifResultItem(run, clean)
                : new SarifProblem(run, $"result {index} of run {run} is null or has no ruleId or message; skipped");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return new SarifProblem(run, $"result {index} of run {run} cannot be read ({e.Message}); skipped");
        }
    }

    /// <summary>A refilling window over the stream with a <see cref="Utf8JsonReader"/> that resumes across refills.</summary>
    private sealed class Source(Stream stream)
    {
        private byte[] _buffer = new byte[1 << 16];
        private int _start;       // first byte not yet consumed by the reader
        private int _end;         // end of the valid bytes
        private long _offset;     // file offset of _buffer[0]
        private bool _eof;
        private JsonReaderState _state = new(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 256 });
        private byte[]? _valueText;

        public bool Ended => _eof && _start >= _end;

        public long Position => _offset + _start;

        /// <summary>Reads the next token; false at the end of the input.</summary>
        public bool Next(out JsonTokenType token)
        {
            while (true)
            {
                var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
                if (reader.Read())
                {
                    token = reader.TokenType;
                    _valueText = token is JsonTokenType.PropertyName or JsonTokenType.String ? ValueBytes(ref reader) : null;
                    _start += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return true;
                }

                if (_eof)
                {
                    token = JsonTokenType.None;
                    return false;
                }

                Refill(int.MaxValue);
            }
        }

        public bool ValueTextEquals(ReadOnlySpan<byte> text) => _valueText is not null && _valueText.AsSpan().SequenceEqual(text);

        public string? GetString() => _valueText is null ? null : Encoding.UTF8.GetString(_valueText);

        /// <summary>
        /// The value that starts with the token just read, as JSON bytes, consuming it. A scalar is
        /// its own value; a container is read to its end, refilling as needed up to <paramref name="limit"/>
        /// bytes (past that it is skipped, without holding it, and reported too large).
        /// </summary>
        public bool TryCaptureValue(JsonTokenType token, int limit, out byte[] json, out bool tooLarge)
        {
            tooLarge = false;
            json = [];
            if (token is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                json = token switch
                {
                    JsonTokenType.Null => "null"u8.ToArray(),
                    JsonTokenType.True => "true"u8.ToArray(),
                    JsonTokenType.False => "false"u8.ToArray(),
                    JsonTokenType.String => JsonSerializer.SerializeToUtf8Bytes(GetString() ?? string.Empty, SarifJsonContext.Default.String),
                    _ => "0"u8.ToArray(), // numbers are never what a SARIF member or result is
                };
                return true;
            }

            // The token is consumed; rebuild the container from its opening byte. A reader
            // positioned on the start token skips the whole value when enough bytes are there.
            var opening = token == JsonTokenType.StartObject ? (byte)'{' : (byte)'[';
            var startState = _state;
            var from = _start;
            while (true)
            {
                var reader = new Utf8JsonReader(_buffer.AsSpan(from, _end - from), _eof, startState);
                var depth = 1;
                var complete = false;
                while (reader.Read())
                {
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        depth++;
                    }
                    else if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && --depth == 0)
                    {
                        complete = true;
                        break;
                    }
                }

                if (complete)
                {
                    var length = (int)reader.BytesConsumed;
                    json = new byte[length + 1];
                    json[0] = opening;
                    _buffer.AsSpan(from, length).CopyTo(json.AsSpan(1));
                    _start = from + length;
                    _state = reader.CurrentState;
                    return true;
                }

                if (_eof)
                {
                    _start = _end;
                    return false;
                }

                if (_end - from >= limit)
                {
                    // Too large to hold: stream past it with the reader, keeping nothing.
                    tooLarge = true;
                    _start = from + (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    SkipRest(depth);
                    return false;
                }

                // Keep the value's bytes from 'from' on and read more.
                var keep = _start - from;
                _start = from;
                Refill(limit);
                from = _start;
                _start = from + keep;
            }
        }

        private void SkipRest(int depth)
        {
            while (depth > 0 && Next(out var token))
            {
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    depth++;
                }
                else if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    depth--;
                }
            }
        }

        private static byte[] ValueBytes(ref Utf8JsonReader reader)
        {
            if (!reader.ValueIsEscaped && !reader.HasValueSequence)
            {
                return reader.ValueSpan.ToArray();
            }

            return Encoding.UTF8.GetBytes(reader.GetString() ?? string.Empty);
        }

        // Moves the unconsumed bytes to the front, grows the buffer when they fill it (up to about
        // the limit), and reads more.
        private void Refill(int limit)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _offset += _start;
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                if (_buffer.Length > MaxValueBytes)
                {
                    throw new JsonException($"a value over {MaxValueBytes:N0} bytes");
                }

                var grown = (int)Math.Min((long)_buffer.Length * 2, Math.Max((long)limit + (1 << 16), _buffer.Length + 1L));
                Array.Resize(ref _buffer, Math.Max(grown, _buffer.Length + 1));
            }

            var n = stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _eof = true;
            }

            _end += n;
        }
    }
}
