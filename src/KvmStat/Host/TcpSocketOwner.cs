using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace KvmStat.Host;

/// <summary>
/// The user that owns a TCP socket of this host, asked of the kernel with sock_diag(7) by the
/// socket's exact addresses: for a loopback client of the exporter, the local user behind it,
/// whatever loopback address (any of 127.0.0.0/8) it chose. One request and one answer, no table read.
/// </summary>
internal static class TcpSocketOwner
{
    /// <summary>The owner of the socket bound to <paramref name="local"/> and connected to <paramref name="remote"/>, or null when the kernel does not say.</summary>
    internal static uint? Of(IPEndPoint local, IPEndPoint remote)
    {
        if (local.AddressFamily != remote.AddressFamily)
            return null;
        Interop.AbiTable abi = Interop.Abi;
        Span<byte> request = stackalloc byte[abi.NetlinkHeaderSize + abi.InetDiagRequestSize];
        request.Clear();
        // struct nlmsghdr: length, type, flags, sequence, port id.
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], (ushort)abi.SOCK_DIAG_BY_FAMILY);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], (ushort)abi.NLM_F_REQUEST);
        Span<byte> diag = request[abi.NetlinkHeaderSize..];
        diag[0] = (byte)(local.AddressFamily == AddressFamily.InterNetworkV6 ? abi.AF_INET6 : abi.AF_INET);
        diag[1] = (byte)abi.IPPROTO_TCP;
        BinaryPrimitives.WriteUInt32LittleEndian(diag[abi.InetDiagStatesOffset..], uint.MaxValue);
        // struct inet_diag_sockid, ports and addresses in network order; no cookie.
        Span<byte> id = diag[abi.InetDiagRequestIdOffset..];
        BinaryPrimitives.WriteUInt16BigEndian(id, (ushort)local.Port);
        BinaryPrimitives.WriteUInt16BigEndian(id[abi.InetDiagDestinationPortOffset..], (ushort)remote.Port);
        if (!local.Address.TryWriteBytes(id[abi.InetDiagSourceOffset..(abi.InetDiagSourceOffset + 16)], out _)
            || !remote.Address.TryWriteBytes(id[abi.InetDiagDestinationOffset..(abi.InetDiagDestinationOffset + 16)], out _))
            return null;
        // A link-local client's socket is bound to its link, which the lookup must name to find it.
        if (local.Address.IsIPv6LinkLocal)
            BinaryPrimitives.WriteUInt32LittleEndian(id[abi.InetDiagInterfaceOffset..], (uint)local.Address.ScopeId);
        BinaryPrimitives.WriteUInt32LittleEndian(id[abi.InetDiagCookieOffset..], abi.INET_DIAG_NOCOOKIE);
        BinaryPrimitives.WriteUInt32LittleEndian(id[(abi.InetDiagCookieOffset + 4)..], abi.INET_DIAG_NOCOOKIE);

        int fd = Interop.Libc.Socket(abi.AF_NETLINK, abi.SOCK_DGRAM | abi.SOCK_CLOEXEC, abi.NETLINK_SOCK_DIAG);
        if (fd < 0)
            return null;
        try
        {
            // On a datagram socket write and read send and take one message each, as send and recv do.
            if (Interop.Libc.WriteAll(fd, request) != 0)
                return null;
            Span<byte> answer = stackalloc byte[512];
            nint n = Interop.Libc.ReadRetrying(fd, answer);
            // One message: an inet_diag_msg, or NLMSG_ERROR (no such socket).
            if (n < abi.NetlinkHeaderSize + abi.InetDiagInodeOffset + 4
                || BinaryPrimitives.ReadUInt16LittleEndian(answer[4..]) != abi.SOCK_DIAG_BY_FAMILY)
                return null;
            Span<byte> message = answer[abi.NetlinkHeaderSize..(int)n];
            // Where no connected socket has these addresses the kernel answers with a socket
            // listening on the client's port (anyone's, on any port from 1024): not the client's.
            // Only a socket of exactly the ports and addresses asked is (its interface aside).
            if (message[abi.InetDiagMessageStateOffset] == abi.TCP_LISTEN || !IsSocketAsked(message[abi.InetDiagMessageIdOffset..], local, remote))
                return null;
            // A socket its process closed (orphaned, or in TIME_WAIT) has no inode, and the kernel says uid 0 for it: no owner.
            if (BinaryPrimitives.ReadUInt32LittleEndian(message[abi.InetDiagInodeOffset..]) == 0)
                return null;
            return BinaryPrimitives.ReadUInt32LittleEndian(message[abi.InetDiagUidOffset..]);
        }
        finally
        {
            // A close of a socket only asked of cannot lose anything.
            _ = Interop.Libc.Close(fd);
        }
    }

    /// <summary>
    /// Whether the answer's socket (its inet_diag_sockid) has the ports and addresses asked: an IPv4
    /// client may hold an IPv6 socket (a dual-stack one, as .NET's and Java's clients open), which the
    /// kernel finds for an IPv4 question and names with IPv4-mapped addresses.
    /// </summary>
    private static bool IsSocketAsked(ReadOnlySpan<byte> id, IPEndPoint local, IPEndPoint remote)
    {
        Interop.AbiTable abi = Interop.Abi;
        if (BinaryPrimitives.ReadUInt16BigEndian(id) != local.Port || BinaryPrimitives.ReadUInt16BigEndian(id[abi.InetDiagDestinationPortOffset..]) != remote.Port)
            return false;
        return IsAddress(id.Slice(abi.InetDiagSourceOffset, 16), local.Address) && IsAddress(id.Slice(abi.InetDiagDestinationOffset, 16), remote.Address);
    }

    /// <summary>16 bytes of an inet_diag_sockid address: an IPv4 one in the first 4 (the rest 0), or an IPv6 one, IPv4-mapped for an IPv4 peer of an IPv6 socket.</summary>
    private static bool IsAddress(ReadOnlySpan<byte> field, IPAddress address)
    {
        Span<byte> expected = stackalloc byte[16];
        expected.Clear();
        address.TryWriteBytes(expected, out _);
        if (field.SequenceEqual(expected))
            return true;
        if (address.AddressFamily != AddressFamily.InterNetwork)
            return false;
        address.MapToIPv6().TryWriteBytes(expected, out _);
        return field.SequenceEqual(expected);
    }

    /// <summary>
    /// Whether sock_diag can be asked here: 0, or the errno of the netlink socket (a sandbox that
    /// allows no AF_NETLINK, such as RestrictAddressFamilies without it).
    /// </summary>
    internal static int Unavailable()
    {
        Interop.AbiTable abi = Interop.Abi;
        int fd = Interop.Libc.Socket(abi.AF_NETLINK, abi.SOCK_DGRAM | abi.SOCK_CLOEXEC, abi.NETLINK_SOCK_DIAG);
        if (fd < 0)
            return -fd;
        // A close of a socket never used cannot lose anything.
        _ = Interop.Libc.Close(fd);
        return 0;
    }
}
