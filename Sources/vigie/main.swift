import VigieDaemon
#if canImport(Glibc)
import Glibc
#endif

// Composition root only: everything happens in VigieDaemon.Launcher.
exit(Launcher.main(arguments: CommandLine.arguments))
