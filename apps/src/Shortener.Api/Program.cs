using Shortener.Api;
using Shortener.Api.Auth;
using Shortener.Api.Links;
using Shortener.Api.Redirects;
using Shortener.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPostgres();
builder.AddRedis();
builder.AddApiServices();

var app = builder.Build();

app.UseApiPipeline();
app.MapDefaultEndpoints();
app.MapApiKeysApi();
app.MapLinksApi();
app.MapRedirects();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
