// Firestore-protocol server for the mirror tests, bound to loopback only (the package's own start()
// binds 0.0.0.0). Usage: node serve.js [port]; prints "[firestore-emulator] ready 127.0.0.1:<port>".
const { FirestoreServer } = require("@firestore-emulator/server");
const grpc = require("@grpc/grpc-js");

const server = new FirestoreServer();
const port = Number(process.argv[2] || 0);
server.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`[firestore-emulator] cannot bind 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`[firestore-emulator] ready 127.0.0.1:${bound}`);
});
const stop = () => { server.stop(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
