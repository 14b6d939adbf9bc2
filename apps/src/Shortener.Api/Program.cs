using Microsoft.Extensions.Diagnostics.HealthChecks;
using Shortener.Api;
using Shortener.Api.Auth;
using Shortener.Api.Faults;
using Shortener.Api.Links;
using Shortener.Api.Redirects;
using Shortener.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPostgres();
// Without Redis the API still redirects (from PostgreSQL): Degraded, not unready.
builder.AddRedis(failureStatus: HealthStatus.Degraded);
builder.AddApiServices();
builder.AddFaultInjection();

var app = builder.Build();

app.UseApiPipeline();
app.UseFaultInjection();
app.MapDefaultEndpoints();
app.MapApiKeysApi();
app.MapLinksApi();
app.MapRedirects();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
