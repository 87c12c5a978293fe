using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Pelint.Pe.IO;

/// <summary>What a path names, after following symbolic links.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Other,
}

/// <summary>
/// The file system as a scanner of hostile trees needs it, beyond what .NET exposes:
/// <list type="bullet">
/// <item>the kind of a file, so only regular files are read (opening a FIFO blocks until a writer
/// comes, a device never ends);</item>
/// <item>opening without blocking and checking the kind of what was opened, not of what the path
/// named a moment before;</item>
/// <item>file names that are not UTF-8, which Linux allows and .NET turns into U+FFFD (so the
/// file can no longer be opened): here each byte that is not part of valid UTF-8 becomes a lone
/// surrogate U+DC80-U+DCFF in the path string, and back to the byte when the path is used.</item>
/// </list>
/// On 64-bit Linux this calls libc (open, statx, readdir); elsewhere it falls back to .NET's
/// APIs, with what they can tell (a FIFO is then seen only once opened, and blocks).
/// </summary>
public static unsafe partial class HostFiles
{
    private static readonly bool Native = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>Whether a path string carries bytes that are not UTF-8 (see the class remarks).</summary>
    public static bool HasRawBytes(string path) => path.AsSpan().IndexOfAnyInRange('\uDC80', '\uDCFF') >= 0;

    /// <summary>The bytes of a path string (UTF-8, raw bytes restored).</summary>
    public static byte[] ToBytes(string path)
    {
        if (!HasRawBytes(path))
        {
            return Encoding.UTF8.GetBytes(path);
        }

        var bytes = new List<byte>(path.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c is >= '\uDC80' and <= '\uDCFF')
            {
                bytes.Add((byte)(c - 0xDC00));
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                var n = new Rune(c, path[++i]).EncodeToUtf8(utf8);
                bytes.AddRange(utf8[..n]);
                continue;
            }

            var written = Rune.TryCreate(c, out var rune) ? rune.EncodeToUtf8(utf8) : Rune.ReplacementChar.EncodeToUtf8(utf8);
            bytes.AddRange(utf8[..written]);
        }

        return [.. bytes];
    }

    /// <summary>A path string from raw bytes: valid UTF-8 as text, other bytes as lone surrogates.</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append((char)(0xDC00 + bytes[0]));
                bytes = bytes[1..];
            }
        }

        return text.ToString();
    }

    /// <summary>The kind of file a path names, following symbolic links.</summary>
    public static FileKind KindOf(string path)
    {
        if (Native)
        {
            return Stat(path, out var kind, out _) ? kind : FileKind.Missing;
        }

        if (Directory.Exists(path))
        {
            return FileKind.Directory;
        }

        return File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    /// <summary>The device and inode of a folder, to walk each folder once whatever links lead to it; null when unknown.</summary>
    public static (ulong Device, ulong Inode)? IdentityOf(string path) => Native && Stat(path, out _, out var id) ? id : null;

    /// <summary>A human name for a kind ("a FIFO", "a character device"...).</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Missing => "missing",
        _ => "not a regular file",
    };

    /// <summary>
    /// Opens a regular file for reading, without blocking on a FIFO or a device: the kind is
    /// checked on the opened descriptor. Throws <see cref="IOException"/> (with the kind) for
    /// anything else, and the usual exceptions when the file cannot be opened.
    /// </summary>
    public static FileStream OpenRegular(string path, int bufferSize = 4096)
    {
        if (!Native)
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize);
            if (!stream.CanSeek)
            {
                stream.Dispose();
                throw new IOException($"{path} is not a regular file");
            }

            return stream;
        }

        const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
        var bytes = NullTerminated(path);
        int fd;
        fixed (byte* p = bytes)
        {
            fd = Open(p, ORdOnly | ONonBlock | OCloExec);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                2 or 20 => new FileNotFoundException($"could not find file '{path}'", path), // ENOENT, ENOTDIR
                13 or 1 => new UnauthorizedAccessException($"access to '{path}' is denied"), // EACCES, EPERM
                _ => new IOException($"cannot open '{path}': {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var buffer = stackalloc byte[StatxSize];
            var empty = stackalloc byte[1];
            empty[0] = 0;
            if (Statx(fd, empty, AtEmptyPath, StatxMask, buffer) != 0)
            {
                throw new IOException($"cannot inspect '{path}': {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }

            var kind = KindFromMode(*(ushort*)(buffer + 28));
            if (kind != FileKind.Regular)
            {
                throw new IOException($"{path} is {Describe(kind)}, not a regular file; not read");
            }

            return new FileStream(handle, FileAccess.Read, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The entries of a folder (names as path strings, see the class remarks) with their kinds, following links.</summary>
    public static IReadOnlyList<(string Path, FileKind Kind)> List(string directory)
    {
        if (!Native)
        {
            var entries = new List<(string, FileKind)>();
            foreach (var d in Directory.GetDirectories(directory))
            {
                entries.Add((d, FileKind.Directory));
            }

            foreach (var f in Directory.GetFiles(directory))
            {
                entries.Add((f, FileKind.Regular));
            }

            return entries;
        }

        var result = new List<(string, FileKind)>();
        var dirBytes = NullTerminated(directory);
        nint dir;
        fixed (byte* p = dirBytes)
        {
            dir = OpenDir(p);
        }

        if (dir == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is 13 or 1
                ? new UnauthorizedAccessException($"access to the folder '{directory}' is denied")
                : new IOException($"cannot list '{directory}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        try
        {
            var prefix = directory.EndsWith('/') ? directory : directory + "/";
            while (true)
            {
                var entry = ReadDir(dir);
                if (entry == 0)
                {
                    break;
                }

                // struct dirent on 64-bit Linux: d_ino 8, d_off 8, d_reclen 2, d_type 1, then d_name.
                var name = new ReadOnlySpan<byte>((byte*)entry + 19, 256);
                name = name[..Math.Max(0, name.IndexOf((byte)0))];
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8) || name.IsEmpty)
                {
                    continue;
                }

                var path = prefix + FromBytes(name);
                // d_type is a hint (DT_UNKNOWN on some file systems, DT_LNK for links): stat to be sure.
                result.Add((path, KindOf(path)));
            }
        }
        finally
        {
            _ = CloseDir(dir);
        }

        return result;
    }

    private const int StatxSize = 256;
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxMask = 0x1 | 0x2 | 0x100 | 0x200; // TYPE | MODE | INO | SIZE

    private static bool Stat(string path, out FileKind kind, out (ulong Device, ulong Inode) id)
    {
        var bytes = NullTerminated(path);
        var buffer = stackalloc byte[StatxSize];
        int rc;
        fixed (byte* p = bytes)
        {
            rc = Statx(AtFdCwd, p, 0, StatxMask, buffer);
        }

        if (rc != 0)
        {
            kind = FileKind.Missing;
            id = default;
            return false;
        }

        kind = KindFromMode(*(ushort*)(buffer + 28));
        // struct statx: stx_ino at 32, stx_dev_major at 136, stx_dev_minor at 140.
        id = ((ulong)*(uint*)(buffer + 136) << 32 | *(uint*)(buffer + 140), *(ulong*)(buffer + 32));
        return true;
    }

    private static FileKind KindFromMode(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0x1000 => FileKind.Fifo,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Other,
    };

    private static byte[] NullTerminated(string path)
    {
        var bytes = ToBytes(path);
        Array.Resize(ref bytes, bytes.Length + 1);
        return bytes;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true)]
    private static partial nint OpenDir(byte* path);

    [LibraryImport("libc", EntryPoint = "readdir", SetLastError = true)]
    private static partial nint ReadDir(nint dir);

    [LibraryImport("libc", EntryPoint = "closedir")]
    private static partial int CloseDir(nint dir);
}
