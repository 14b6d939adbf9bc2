using System.CommandLine;
using System.Globalization;
using Shortener.Deploy;

// shortener-deploy: what deploy.yml runs on the VM. Exit codes of `deploy`: 0 deployed,
// 1 rolled back to the previous release, 2 failed with nothing restored.
var root = new RootCommand("Deploys the link shortener by image digest, with health gates and automatic rollback.");
root.Subcommands.Add(DeployCommand());
root.Subcommands.Add(CheckMigrationsCommand());
root.Subcommands.Add(DecryptSecretsCommand());
return await root.Parse(args).InvokeAsync();

static Command DeployCommand()
{
    var release = new Option<string>("--release") { Description = "Release name (the tag)", Required = true };
    var api = new Option<string>("--api") { Description = "API image by digest", Required = true };
    var worker = new Option<string>("--worker") { Description = "Worker image by digest", Required = true };
    var migrator = new Option<string>("--migrator") { Description = "Migrator image by digest", Required = true };
    var runtime = new Option<string>("--runtime") { Description = "Where the release runs (compose)", DefaultValueFactory = _ => "compose" };
    var composeDir = new Option<string>("--compose-dir") { Description = "deploy/compose on the VM", Required = true };
    var composeFiles = new Option<string[]>("--compose-file") { Description = "Compose files, in order", DefaultValueFactory = _ => ["compose.yaml", "compose.observability.yaml"] };
    var project = new Option<string>("--project") { Description = "Compose project name", DefaultValueFactory = _ => "shortener" };
    var apiReplicas = new Option<int>("--api-replicas") { Description = "API replicas (API_REPLICAS of .env)", DefaultValueFactory = _ => 2 };
    var stateDir = new Option<string>("--state-dir") { Description = "Release history (current.json, history.jsonl)", Required = true };
    var readyTimeout = new Option<string>("--ready-timeout") { Description = "Time a new replica has to turn ready", DefaultValueFactory = _ => "90s" };
    var prometheus = new Option<Uri?>("--prometheus") { Description = "Prometheus base URL for the SLO gate (omit: readiness gates only)" };
    var sloWindow = new Option<string>("--slo-window") { Description = "Observation window of the SLO gate after the rollout", DefaultValueFactory = _ => "5m" };
    var alertmanager = new Option<Uri?>("--alertmanager") { Description = "Alertmanager base URL for the deploy-window silence" };

    var command = new Command("deploy", "Deploy a release; roll back to the previous one if a gate fails")
    {
        release, api, worker, migrator, runtime, composeDir, composeFiles, project, apiReplicas, stateDir, readyTimeout, prometheus, sloWindow, alertmanager,
    };
    command.SetAction(async (parse, cancellationToken) =>
    {
        var target = new Release(parse.GetValue(release)!, ImageReference.Parse(parse.GetValue(api)!),
            ImageReference.Parse(parse.GetValue(worker)!), ImageReference.Parse(parse.GetValue(migrator)!));
        if (parse.GetValue(runtime) != "compose") throw new ArgumentException("--runtime: only compose is supported");
        var replicas = new Dictionary<string, int> { [Services.Api] = parse.GetValue(apiReplicas), [Services.Worker] = 1 };
        var compose = new ComposeRuntime(parse.GetValue(composeDir)!, parse.GetValue(composeFiles)!, parse.GetValue(project)!, replicas, Log);
        var options = new RolloutOptions
        {
            Services = [(Services.Api, replicas[Services.Api]), (Services.Worker, 1)],
            ReadyTimeout = Duration(parse.GetValue(readyTimeout)!),
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var window = Duration(parse.GetValue(sloWindow)!);
        ISloGate? slo = parse.GetValue(prometheus) is { } p ? new PrometheusSloGate(new HttpClient { BaseAddress = p }, window) : null;
        DeploySilence? silence = parse.GetValue(alertmanager) is { } a ? new DeploySilence(new HttpClient { BaseAddress = a }) : null;

        var silenceId = silence is null ? null : await silence.CreateAsync(target.Name, window + TimeSpan.FromMinutes(15), cancellationToken);
        try
        {
            var result = await new Rollout(compose, new ReleaseHistory(parse.GetValue(stateDir)!), options, slo, Log).DeployAsync(target, cancellationToken);
            Log($"{result.Outcome}: {result.Detail} (rollout {result.Rollout.TotalSeconds:F1} s{(result.Rollback is { } r ? $", rollback {r.TotalSeconds:F1} s" : "")})");
            return result.Outcome switch { DeployOutcome.Deployed => 0, DeployOutcome.RolledBack => 1, _ => 2 };
        }
        finally
        {
            if (silenceId is not null) await silence!.ExpireAsync(silenceId, CancellationToken.None);
        }
    });
    return command;
}

static Command CheckMigrationsCommand()
{
    var previous = new Option<string>("--previous-source") { Description = "apps/src of the release currently deployed", Required = true };
    var migrations = new Argument<string[]>("migrations") { Description = "SQL migrations this release adds", Arity = ArgumentArity.ZeroOrMore };
    var command = new Command("check-migrations", "Fail if a new migration drops or renames what the previous release still uses") { previous, migrations };
    command.SetAction(parse =>
    {
        var files = parse.GetValue(migrations) ?? [];
        var findings = MigrationSafety.Check(files, parse.GetValue(previous)!);
        foreach (var f in findings)
        {
            Console.Error.WriteLine($"{f.Migration}: \"{f.Statement}\" breaks the previous release, which still uses {f.Identifier} ({f.UsedAt}). Ship the expand step first; drop it in a later release.");
        }
        Log($"{files.Length} new migration(s), {findings.Count} not rollback-safe");
        return findings.Count == 0 ? 0 : 1;
    });
    return command;
}

static Command DecryptSecretsCommand()
{
    var identity = new Option<string>("--identity") { Description = "age identity file of this host", Required = true };
    var from = new Option<string>("--from") { Description = "Directory of NAME.age files", Required = true };
    var to = new Option<string>("--to") { Description = "The compose secrets directory", Required = true };
    var owners = new Option<string?>("--owners") { Description = "File of \"NAME uid:gid\" lines: the service user that reads each secret" };
    var command = new Command("decrypt-secrets", "Decrypt the age-encrypted secrets into the compose secrets directory (0400)") { identity, from, to, owners };
    command.SetAction(async (parse, cancellationToken) =>
    {
        var names = await SecretFiles.DecryptAsync(parse.GetValue(identity)!, parse.GetValue(from)!, parse.GetValue(to)!,
            SecretFiles.ReadOwners(parse.GetValue(owners)), cancellationToken);
        Log($"decrypted {names.Count} secret(s): {string.Join(", ", names)}");
        return 0;
    });
    return command;
}

static void Log(string message) => Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.f} {message}");

static TimeSpan Duration(string value)
{
    var number = double.Parse(value[..^1], CultureInfo.InvariantCulture);
    return value[^1] switch
    {
        's' => TimeSpan.FromSeconds(number),
        'm' => TimeSpan.FromMinutes(number),
        'h' => TimeSpan.FromHours(number),
        _ => throw new ArgumentException($"'{value}': a duration is a number and s, m or h"),
    };
}
