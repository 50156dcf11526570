// `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: the top self-time functions and modules of a
// V8 CPU profile (e.g. one written by `npm run bench -- --cpu-prof`), as markdown.
import { profileTable, summarizeProfile } from './lib/cpuprofile.js';

const [file, top] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top=25]\n');
  process.exit(2);
}
const n = Number(top ?? 25);
process.stdout.write(`${profileTable(summarizeProfile(file, n), n)}\n`);
