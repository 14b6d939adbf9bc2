using System.Net;
using System.Net.Sockets;

namespace Shortener.Api.Auth;

public static class ClientAddress
{
    /// <summary>
    /// The client a rate limit applies to: an IPv4 address as it is, an IPv6 address by its /64 prefix (a subscriber
    /// usually holds a whole /64, so limiting single IPv6 addresses would be evaded by changing the last bits).
    /// </summary>
    public static IPAddress ClientPartition(this HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
