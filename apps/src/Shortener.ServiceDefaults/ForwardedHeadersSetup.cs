using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Shortener.ServiceDefaults;

public static class ForwardedHeadersSetup
{
    /// <summary>
    /// Client address and scheme behind Traefik/ingress: X-Forwarded-* are trusted only from the networks listed in
    /// ForwardedHeaders:KnownNetworks (compose names Traefik's fixed address, and the console's for the API).
    /// Behind a CDN (Cloudflare, per infra/terraform), ForwardedHeaders:CdnNetworks (comma-separated) lists its
    /// ranges and ForwardedHeaders:ForwardLimit is 2: the chain "…, client, edge" that Traefik passes on is read
    /// from the right, past the CDN's edge to the address the CDN appended, and never further left, where the
    /// client's own (forgeable) entries are.
    /// </summary>
    public static IHostApplicationBuilder AddForwardedHeaders(this IHostApplicationBuilder builder, ForwardedHeaders headers)
    {
        builder.Services.Configure<ForwardedHeadersOptions>(options => Configure(options, builder.Configuration, headers));
        return builder;
    }

    private static void Configure(ForwardedHeadersOptions options, IConfiguration configuration, ForwardedHeaders headers)
    {
        options.ForwardedHeaders = headers;
        var section = configuration.GetSection("ForwardedHeaders");
        var networks = (section.GetSection("KnownNetworks").Get<string[]>() ?? [])
            .Concat((section["CdnNetworks"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var network in networks) options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        options.ForwardLimit = section.GetValue<int?>("ForwardLimit") ?? 1;
    }
}
