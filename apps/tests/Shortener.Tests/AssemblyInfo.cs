// The tests run real PostgreSQL and Redis processes, as on the Linux machines this project targets.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
