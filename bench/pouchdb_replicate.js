// bench.sync --peer pouchdb: replicate a pouchdb-server database into a fresh local
// PouchDB (LevelDB on disk) and print the seconds it took, as JSON on one line.
// Usage: node pouchdb_replicate.js SOURCE_URL LOCAL_FOLDER BATCH_SIZE
const PouchDB = require("pouchdb");
const [source, folder, batch] = process.argv.slice(2);
const started = process.hrtime.bigint();
PouchDB.replicate(source, new PouchDB(folder), { batch_size: Number(batch) })
  .then((info) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(JSON.stringify({ seconds, docs: info.docs_written, ok: info.ok }));
  })
  .catch((err) => {
    console.error(String(err));
    process.exit(1);
  });
