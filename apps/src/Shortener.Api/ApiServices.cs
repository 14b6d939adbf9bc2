using Microsoft.AspNetCore.HttpOverrides;
using Scalar.AspNetCore;
using Shortener.Api.Auth;
using Shortener.Api.Clicks;
using Shortener.Api.Links;
using Shortener.Api.Problems;
using Shortener.Api.Redirects;
using Shortener.ServiceDefaults;

namespace Shortener.Api;

public static class ApiServices
{
    /// <summary>Largest request body any endpoint accepts; link creation needs well under 4 KiB.</summary>
    public const long MaxRequestBodyBytes = 16 * 1024;

    public static WebApplicationBuilder AddApiServices(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        });

        var services = builder.Services;
        services.AddOptions<Links.LinkOptions>().BindConfiguration(Links.LinkOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<CacheOptions>().BindConfiguration(CacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ClickOptions>().BindConfiguration(ClickOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddProblemDetailsForApi();
        services.AddOpenApi();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.MaxDepth = 8);

        builder.AddForwardedHeaders(ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost);

        services.AddMemoryCache();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton<LinkStore>();
        services.AddSingleton<LinkCache>();
        services.AddHostedService<LinkInvalidationListener>();
        services.AddSingleton<ClickBuffer>();
        services.AddHostedService<ClickPublisher>();

        services.AddApiKeyAuthentication();
        services.AddApiRateLimiting();
        return builder;
    }

    public static WebApplication UseApiPipeline(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestGuards();
        // Authentication runs inside authorization, only for endpoints that require it (see AddApiKeyAuthentication).
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapOpenApi().ExcludeFromDescription();
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference("/scalar");
        }
        return app;
    }
}
