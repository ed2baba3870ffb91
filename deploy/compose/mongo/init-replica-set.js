// mongo-init (deploy/compose/compose.yaml), run by mongosh against mongo1 at every `up`; every
// step is safe to repeat: initiate rs0 unless it exists, wait for a primary, then create the
// services' user `custompass` or set its roles and password to what .env says.
const deadline = Date.now() + 120 * 1000;
const admin = db.getSiblingDB("admin");
admin.auth("root", process.env.MONGO_ROOT_PASSWORD);

function initiated() {
  try {
    rs.status();
    return true;
  } catch (error) {
    if (error.codeName === "NotYetInitialized") return false;
    throw error;
  }
}

if (!initiated()) {
  rs.initiate({_id: "rs0", members: [
    {_id: 0, host: "mongo1:27017"},
    {_id: 1, host: "mongo2:27017"},
    {_id: 2, host: "mongo3:27017"},
  ]});
  print("mongo-init: initiated replica set rs0");
}

let hello = admin.runCommand({hello: 1});
while (!hello.primary) {
  if (Date.now() > deadline) throw new Error("mongo-init: rs0 has no primary after 120 s");
  sleep(1000);
  hello = admin.runCommand({hello: 1});
}

// Users are written on the primary (mongo1 usually is, but need not be after a failover).
const primary = new Mongo(hello.primary).getDB("admin");
primary.auth("root", process.env.MONGO_ROOT_PASSWORD);
const roles = [{role: "readWrite", db: "custompass"}, {role: "dbAdmin", db: "custompass"}];
if (primary.getUser("custompass")) {
  primary.updateUser("custompass", {pwd: process.env.MONGO_APP_PASSWORD, roles: roles});
  print("mongo-init: updated user custompass");
} else {
  primary.createUser({user: "custompass", pwd: process.env.MONGO_APP_PASSWORD, roles: roles});
  print("mongo-init: created user custompass");
}
