// Runs the built CLI in this process (argv as for `msgraph`) and writes the peak resident memory to stderr at exit.
import { pathToFileURL } from 'node:url';

const cli = process.env.MSGRAPH_CLI;
process.argv[1] = cli;
process.on('exit', () => process.stderr.write(`\n@@maxrss ${process.resourceUsage().maxRSS}\n`));
await import(pathToFileURL(cli).href);
