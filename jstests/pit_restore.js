/**
 * pit_restore.js -- point-in-time restore end to end on a real mongod running the wtkms
 * extension, with the oplog tap running beside it. Run by jstests/run.sh, one phase per call
 * (the runner takes the snapshot, stops the tap and restores between phases):
 *
 *   phase "write1"   on the source: a first batch of writes (in the snapshot)
 *   phase "write2"   on the source: inserts, updates, deletes, an index, a multi-document
 *                    transaction; saves the target time and the state at that time; then writes
 *                    that must NOT be restored
 *   phase "check"    on the restored server: the state equals the saved state exactly
 *
 * Globals set with --eval: phase, stateFile. Works in mongosh and in the legacy mongo shell.
 */
(function() {
    "use strict";

    const dbname = "pit";
    const toj = typeof EJSON !== "undefined" ? (x) => EJSON.stringify(x, {relaxed: false})
                                             : (x) => tojson(x);

    function check(cond, msg) {
        if (!cond)
            throw new Error("jstests/pit_restore.js (" + phase + "): " + msg);
    }

    function writeText(path, text) {
        if (typeof require === "function")
            require("fs").writeFileSync(path, text);
        else
            writeFile(path, text);
    }

    function readText(path) {
        return typeof require === "function" ? require("fs").readFileSync(path, "utf8") : cat(path);
    }

    function tsParts(ts) {
        if (typeof ts.getTime === "function" && typeof ts.getInc === "function")
            return [ts.getTime(), ts.getInc()];
        return [ts.getHighBits(), ts.getLowBits()];
    }

    function state(pdb) {
        // Every document of every collection of the test database, in _id order.
        const out = {};
        pdb.getCollectionNames().sort().forEach(function(c) {
            out[c] = pdb[c].find().sort({_id: 1}).toArray();
        });
        return out;
    }

    const pdb = db.getSiblingDB(dbname);
    const wc = {writeConcern: {w: "majority"}};
    if (phase === "write1") {
        const docs = [];
        for (let i = 0; i < 500; i++)
            docs.push({_id: i, v: "before-snapshot-" + i, n: i});
        pdb.orders.insertMany(docs, wc);
        pdb.customers.insertOne({_id: "c1", name: "first"}, wc);
        print("write1: " + pdb.orders.countDocuments({}) + " orders");
    } else if (phase === "write2") {
        for (let i = 500; i < 800; i++)
            pdb.orders.insertOne({_id: i, v: "after-snapshot-" + i, n: i}, wc);
        pdb.orders.updateMany({n: {$lt: 100}}, {$set: {state: "paid"}}, wc);
        pdb.orders.deleteMany({n: {$gte: 700, $lt: 720}}, wc);
        pdb.orders.createIndex({state: 1});
        // A multi-document transaction: the restore applies it at its commit.
        const session = db.getMongo().startSession();
        const sdb = session.getDatabase(dbname);
        session.startTransaction({readConcern: {level: "snapshot"}, writeConcern: {w: "majority"}});
        sdb.customers.insertOne({_id: "c2", name: "in a transaction"});
        sdb.orders.updateOne({_id: 1}, {$inc: {n: 1000}});
        session.commitTransaction();
        session.endSession();

        const last = db.getSiblingDB("local").oplog.rs.find().sort({$natural: -1}).limit(1).next();
        const until = tsParts(last.ts).join(":");
        writeText(stateFile, until + "\n" + toj(state(pdb)));
        print("UNTIL " + until);

        // After the target time: a restore to UNTIL must contain none of these.
        pdb.orders.insertOne({_id: 9999, v: "too late"}, wc);
        pdb.customers.deleteOne({_id: "c1"}, wc);
        print("write2: done");
    } else if (phase === "check") {
        const saved = readText(stateFile);
        const nl = saved.indexOf("\n");
        const want = saved.substring(nl + 1), got = toj(state(pdb));
        check(got === want, "restored state differs from the state at " + saved.substring(0, nl) +
                              "\nwant: " + want + "\ngot:  " + got);
        check(pdb.orders.findOne({_id: 9999}) === null, "a write after the target time is there");
        check(pdb.customers.findOne({_id: "c1"}) !== null, "a delete after the target time ran");
        check(pdb.customers.findOne({_id: "c2"}) !== null, "the transaction was not applied");
        check(pdb.orders.getIndexes().some((ix) => ix.name === "state_1"), "the index is missing");
        print("check: the restored state equals the state at " + saved.substring(0, nl));
    } else {
        throw new Error("unknown phase " + phase);
    }
})();
