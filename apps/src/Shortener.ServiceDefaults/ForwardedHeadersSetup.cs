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
    /// </summary>
    public static IHostApplicationBuilder AddForwardedHeaders(this IHostApplicationBuilder builder, ForwardedHeaders headers)
    {
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = headers;
            foreach (var network in builder.Configuration.GetSection("ForwardedHeaders:KnownNetworks").Get<string[]>() ?? [])
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return builder;
    }
}
