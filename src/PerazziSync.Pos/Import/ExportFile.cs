using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PerazziSync.Pos.Import;

/// <summary>
/// Opens an export only if it is a regular file. Opening a named pipe waits for a writer for ever,
/// and a device such as <c>/dev/zero</c> never ends, so neither may reach the reader; in the drop
/// folder, which anyone who can write to it fills, a symbolic link is refused too, since it would
/// import (and quote in rejection reasons) a file from anywhere the worker can read, and so is a
/// file with more than one link, which may be a hard link to such a file (docs/sources.md). The
/// file is opened without waiting (O_NONBLOCK) and then checked to be the regular file its name
/// named when looked at, so a name swapped between the look and the open is refused too; its links
/// are counted on the opened file.
/// </summary>
static partial class ExportFile
{
    const int AtFdCwd = -100;
    const int AtSymlinkNoFollow = 0x100;
    const int AtEmptyPath = 0x1000;
    const uint StatxType = 0x1;
    const uint StatxLinks = 0x4;
    const uint StatxIno = 0x100;
    const int ONonBlock = 0x800;
    const int OCloseOnExec = 0x80000;
    const int FileTypeMask = 0xF000;
    const int RegularFile = 0x8000;
    const int NoSuchFile = 2;
    const int AccessDenied = 13;

    /// <summary>The start of Linux's <c>struct statx</c>, whose layout is the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    struct Status
    {
        [FieldOffset(16)] public uint Links;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(136)] public uint DeviceMajor;
        [FieldOffset(140)] public uint DeviceMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int directory, string path, int flags, uint mask, out Status status);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    /// <summary>
    /// Opens <paramref name="path"/> to read; <paramref name="namedByOperator"/> says whether the
    /// operator chose it (a symbolic link is read as the file it points to, a hard link is read) or
    /// it was found in the drop folder (either is refused).
    /// </summary>
    /// <exception cref="PosExportException">It is not a regular file, or a link the drop folder refuses.</exception>
    public static FileStream OpenRead(string path, bool namedByOperator)
    {
        var named = Look(path, namedByOperator);
        var descriptor = Open(path, ONonBlock | OCloseOnExec);
        if (descriptor < 0)
        {
            throw Failure(path);
        }
        var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        try
        {
            if (StatX(descriptor, "", AtEmptyPath, StatxType | StatxIno | StatxLinks, out var opened) != 0)
            {
                throw Failure(path);
            }
            if ((opened.Mode & FileTypeMask) != RegularFile || opened.Inode != named.Inode
                || opened.DeviceMajor != named.DeviceMajor || opened.DeviceMinor != named.DeviceMinor)
            {
                throw new PosExportException("the file was replaced while it was opened; it is not imported");
            }
            if (!namedByOperator && opened.Links > 1)
            {
                throw new PosExportException(
                    $"it has {opened.Links} hard links, so it may be a file from elsewhere; only a file with a single link is imported from the drop folder");
            }
            return new FileStream(handle, FileAccess.Read, 1 << 16);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    static Status Look(string path, bool namedByOperator)
    {
        if (StatX(AtFdCwd, path, namedByOperator ? 0 : AtSymlinkNoFollow, StatxType | StatxIno, out var status) != 0)
        {
            throw Failure(path);
        }
        if ((status.Mode & FileTypeMask) != RegularFile)
        {
            throw new PosExportException($"it is {KindOf(status.Mode)}, not a regular file; only regular files are imported");
        }
        return status;
    }

    static string KindOf(int mode) => (mode & FileTypeMask) switch
    {
        0x1000 => "a named pipe (FIFO)",
        0x2000 => "a character device",
        0x4000 => "a directory",
        0x6000 => "a block device",
        0xA000 => "a symbolic link",
        0xC000 => "a socket",
        _ => "of an unknown kind",
    };

    static Exception Failure(string path)
    {
        var error = Marshal.GetLastPInvokeError();
        var message = new Win32Exception(error).Message;
        return error switch
        {
            NoSuchFile => new FileNotFoundException(message, path),
            AccessDenied => new UnauthorizedAccessException(message),
            _ => new IOException(message),
        };
    }
}
