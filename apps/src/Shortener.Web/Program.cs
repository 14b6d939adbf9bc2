using Microsoft.AspNetCore.HttpOverrides;
using Shortener.ServiceDefaults;
using Shortener.Web;
using Shortener.Web.Components;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.Services.AddOptions<ConsoleOptions>().BindConfiguration(ConsoleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddRazorComponents();
builder.Services.AddCascadingAuthenticationState();
builder.Services.AddHttpContextAccessor();
builder.Services.AddHttpClient<ShortenerApi>((services, client) =>
{
    client.BaseAddress = new Uri(services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ConsoleOptions>>().Value.ApiBaseUrl);
    client.Timeout = TimeSpan.FromSeconds(10);
});
builder.Services.AddConsoleSession();
// The browser's address and scheme as Traefik saw them: the API limits failed sign-ins per client, not per console.
builder.AddForwardedHeaders(ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto);

var app = builder.Build();

app.UseForwardedHeaders();
app.UseSecurityHeaders();
if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/error", createScopeForErrors: true);
}
app.UseStatusCodePagesWithReExecute("/not-found");
app.MapStaticAssets();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapDefaultEndpoints();
app.MapSignOut();
app.MapRazorComponents<App>();

app.Run();

/// <summary>Entry point, visible to the tests.</summary>
public partial class Program;
