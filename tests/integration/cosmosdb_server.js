#!/usr/bin/env node
// Starts @vercel/cosmosdb-server (HTTPS, self-signed) on loopback for tests and `make azure-local`.
//
// Two adjustments, both to make the stand-in answer like Cosmos DB does:
// - a point read of a missing item in a partitioned container crashes the stand-in's
//   handler (HTTP 500); Cosmos DB answers 404, which is what the adapter relies on;
// - keep-alive is on, so a test run does not pay a TLS handshake per request.
// Usage: node cosmosdb_server.js --host 127.0.0.1 --port 8081
"use strict";

const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");
const { parsePartitionKey, default: partitionHeader } = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header");

const original = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = partitionHeader(req);
  if (collection.read() && header) {
    const key = parsePartitionKey(header, params.docId);
    if (!collection.document(params.docId, key).read()) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return original(account, req, res, params);
};

// Loaded after the patch: the route table captures the handler when it is built.
const { createHttpsServer } = require("@vercel/cosmosdb-server");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const host = option("--host", "127.0.0.1");
const port = parseInt(option("--port", "8081"), 10);

const server = createHttpsServer({ keepAlive: true }).listen(port, host, () => {
  console.log(`Ready to accept HTTPS connections at ${host}:${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
