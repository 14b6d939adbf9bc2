using Shortener.TestReport;

// Usage: Shortener.TestReport DIRECTORY
//   Prints the failed tests with their messages, the run-level errors, then "N passed, N failed, N skipped".
//   Exit code 1 when there is no TRX file at all (the run did not happen), else 0: scripts/test.sh judges.
if (args.Length != 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("Usage: Shortener.TestReport DIRECTORY-OF-TRX-FILES");
    return 2;
}
var files = Directory.GetFiles(args[0], "*.trx");
if (files.Length == 0)
{
    Console.Error.WriteLine($"No TRX file in {args[0]}: `dotnet test` wrote no results.");
    return 1;
}
Console.Write(TestRunReport.Read(files).Render());
return 0;
