/** pst2imap's CLI from the sources, for the bench (bin/pst2imap.js runs the build in dist/). */
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
