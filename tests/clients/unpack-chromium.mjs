// Unpacks the Chromium that @sparticuz/chromium ships inside its npm package (brotli files in
// its bin/) into <clients>/chromium, once, so the browser test needs no apt and no root:
//   chromium          the browser (a headless shell build)
//   al2023/lib        NSS, NSPR and expat from the package's Amazon Linux 2023 pack: the
//                     shared libraries a bare Debian lacks (the test puts them on
//                     LD_LIBRARY_PATH)
//   fonts/            the package's font, and a fonts.conf that also reads the system's fonts
// The package itself would unpack into /tmp on every fresh machine at run time, shared by
// everyone; the tests want it under target/ like the rest of the clients.
//
//   node tests/clients/unpack-chromium.mjs <clients dir>
import { createRequire } from "node:module";
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";

const clients = resolve(process.argv[2] || "");
if (!process.argv[2]) {
  console.error("usage: node unpack-chromium.mjs <clients dir>");
  process.exit(2);
}
const require = createRequire(join(clients, "package.json"));
// The package exports only its entry point (build/cjs/index.cjs); bin/ is two levels up.
const entry = require.resolve("@sparticuz/chromium");
const bin = join(dirname(entry), "..", "..", "bin");
const tar = createRequire(entry)("tar-fs");

const out = join(clients, "chromium");
const partial = out + ".partial";
rmSync(partial, { recursive: true, force: true });
mkdirSync(partial, { recursive: true });

const brotli = () => createBrotliDecompress({ chunkSize: 2 ** 21 });
const file = (name, to) =>
  pipeline(createReadStream(join(bin, name)), brotli(), createWriteStream(to, { mode: 0o755 }));
// chown: false keeps the files the caller's (as root, tar-fs would restore the pack's owners).
const untar = (name, to) =>
  pipeline(createReadStream(join(bin, name)), brotli(), tar.extract(to, { chown: false }));

await Promise.all([
  file("chromium.br", join(partial, "chromium")),
  untar("al2023.tar.br", join(partial, "al2023")),
  untar("fonts.tar.br", join(partial, "fonts")),
]);
for (const needed of ["chromium", "al2023/lib/libnss3.so", "fonts/fonts"]) {
  if (!existsSync(join(partial, needed))) {
    console.error(`unpack-chromium: ${needed} is missing from @sparticuz/chromium's files in ${bin}`);
    process.exit(1);
  }
}
// The package's fonts.conf names /tmp paths; this one reads the system's configuration (when
// there is one) plus the bundled font, and caches under target/.
const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
writeFileSync(
  join(partial, "fonts", "fonts.conf"),
  `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${xml(join(out, "fonts", "fonts"))}</dir>
  <cachedir>${xml(join(out, "fonts", "cache"))}</cachedir>
</fontconfig>
`,
);
rmSync(out, { recursive: true, force: true });
renameSync(partial, out);
console.log(join(out, "chromium"));
