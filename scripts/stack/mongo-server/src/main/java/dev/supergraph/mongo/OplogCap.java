package dev.supergraph.mongo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;

/**
 * Keeps the oplog to its newest entries, as a real server's capped oplog is kept. The library
 * logs every write to {@code local.oplog.rs} for change streams and never drops an entry, so a
 * server's memory, and an H2 store's file, grew with every write it ever took (each timeline
 * rebuild logs its 800 entries again): a large bench left 1.3 million entries. A change stream
 * resuming from before the kept window gets what is left, with no error, where a real server
 * whose oplog has rolled over answers ChangeStreamHistoryLost; nothing in this project opens one.
 */
final class OplogCap {

    /** Entries kept: far more than a change stream falls behind by. */
    static final int MAX_ENTRIES = 10_000;
    private static final long PERIOD_MS = 1_000;
    private static final String TIMESTAMP = "ts";

    private OplogCap() {
    }

    /** Trims the backend's oplog every second from now on, on a daemon thread. */
    static void start(MongoBackend backend) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "mongo-server-oplog-cap");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                trim(backend, MAX_ENTRIES);
            } catch (RuntimeException e) {
                // A failed pass leaves the entries for the next one; an exception would end the schedule.
                System.err.println("mongo-server: trimming the oplog failed: " + e);
            }
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    /** Drops every entry older than the newest {@code keep}; returns how many went. */
    static int trim(MongoBackend backend, int keep) {
        MongoCollection<?> oplog = backend.resolveDatabase("local").resolveCollection("oplog.rs", false);
        if (oplog == null || oplog.count() <= keep) {
            return 0;
        }
        List<BsonTimestamp> times = new ArrayList<>();
        for (Document entry : oplog.queryAll()) {
            times.add((BsonTimestamp) entry.get(TIMESTAMP));
        }
        if (times.size() <= keep) {
            return 0;
        }
        // Entries written meanwhile are newer than any of these, so they stay too.
        times.sort(Comparator.reverseOrder());
        BsonTimestamp oldestKept = times.get(keep - 1);
        return oplog.deleteDocuments(new Document(TIMESTAMP, new Document("$lt", oldestKept)), 0);
    }
}
