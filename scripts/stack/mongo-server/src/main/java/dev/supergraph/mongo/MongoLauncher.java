package dev.supergraph.mongo;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import org.h2.mvstore.MVStore;

/**
 * Local MongoDB-wire server for dev runs and tests.
 *
 * <p>The library's own main classes bind a fixed localhost:27017 and advertise wire version 8,
 * which the Node driver 7.x refuses, so this launcher picks the address and the advertised
 * version itself.
 *
 * <pre>
 * java -jar mongo-server.jar --host 127.0.0.1 --port 0 --backend memory|h2 [--file store.mv]
 *                            [--durability commit|fsync|delayed] [--as-mongos] [--exit-on-stdin-close]
 *                            [--secondary-indexes on|off]
 * </pre>
 *
 * <p>Secondary indexes are on by default; off gives the library's stock behaviour (only unique
 * indexes are kept), against which tests and benchmarks compare.
 *
 * <p>Durability of the H2 backend ({@code --durability}): the library leaves MVStore's default, an
 * auto-commit every second from a background thread, so a kill -9 loses the writes of the last
 * second although every client was told they were written. {@code commit} (the default) commits
 * the store before a command's reply leaves, whenever the command changed anything: an
 * acknowledged write is in the file (the OS page cache) and survives the server's death.
 * {@code fsync} also forces the file to the disk before replying, so it survives the machine's
 * death too. {@code delayed} is the library's behaviour, for measuring what the others cost.
 *
 * <p>{@code --as-mongos} answers {@code hello} as a mongos router does: drivers then send the read
 * preference with each command (they leave it out for a standalone server), so a test can see
 * where each read would be routed in a replicated deployment.
 *
 * <p>Protocol with the parent process: exactly one line {@code READY <host>:<port>} on stdout once
 * the socket is bound; everything else (logs, errors) goes to stderr.
 */
public final class MongoLauncher {

    /**
     * What the server claims to be. Wire version 21 is MongoDB 7.0; the driver gates features
     * and its minimum supported server on this number, not on what the fake actually implements.
     */
    private static final MongoVersion ADVERTISED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(7, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 21;
        }
    };

    private static final int EXIT_USAGE = 2;

    /** The library's signature of {@code handleCommand}, so both backends can share one override. */
    @FunctionalInterface
    private interface CommandHandler {
        Document handle(Channel channel, String database, String command, Document query);
    }

    private MongoLauncher() {
    }

    private record Options(String host, int port, String backend, String file, String durability,
            boolean asMongos, boolean exitOnStdinClose, boolean secondaryIndexes) {
    }

    public static void main(String[] args) {
        // Must happen before any library class creates its static logger, or slf4j-simple's
        // default (info) wins and every connection gets logged.
        setDefaultProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // Every failed command (duplicate key, unsupported operator, ...) is logged there with a
        // full stack trace, although the client already receives the error in its reply.
        setDefaultProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler", "off");
        // A client that dies (kill -9 of a service, which `npm start` then restarts) resets its
        // connections, and each reset is logged as an error with a stack trace; the client's own
        // side is what matters, and it sees its errors.
        setDefaultProperty("org.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoExceptionHandler", "off");

        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("mongo-server: " + e.getMessage());
            System.err.println("usage: java -jar mongo-server.jar --host 127.0.0.1 --port 0"
                    + " --backend memory|h2 [--file path/to/store.mv] [--durability commit|fsync|delayed]"
                    + " [--as-mongos] [--exit-on-stdin-close] [--secondary-indexes on|off]");
            System.exit(EXIT_USAGE);
            return;
        }

        MongoBackend backend;
        try {
            backend = createBackend(options);
        } catch (IOException | RuntimeException e) {
            // A locked or corrupt H2 file lands here; the parent shows our stderr tail.
            System.err.println("mongo-server: cannot open " + options.backend() + " backend: " + e);
            System.exit(1);
            return;
        }
        backend.version(ADVERTISED_VERSION);

        MongoServer server = new MongoServer(backend);
        // Change streams need the oplog; the server is standalone, so it has to be switched on.
        server.enableOplog();
        OplogCap.start(backend);

        AtomicBoolean stopped = new AtomicBoolean(false);
        Runnable stop = () -> {
            if (!stopped.compareAndSet(false, true)) {
                return;
            }
            try {
                server.shutdownNow();
            } catch (RuntimeException e) {
                // Happens when bind failed and the server already tore itself down; the backend
                // still has to be closed below, so don't let this abort the hook.
                System.err.println("mongo-server: error during shutdown: " + e);
            } finally {
                // shutdownNow closes the backend too, but only when every step before that succeeds.
                closeQuietly(backend);
            }
        };
        // SIGTERM/SIGINT and System.exit all run shutdown hooks; that is where the H2 store gets its
        // final commit, so the file is consistent for the next start.
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "mongo-server-shutdown"));

        InetSocketAddress address;
        try {
            server.bind(options.host(), options.port());
            address = server.getLocalAddress();
        } catch (RuntimeException e) {
            System.err.println("mongo-server: cannot bind " + options.host() + ":" + options.port() + ": " + e);
            System.exit(1);
            return;
        }

        // System.out may be a block-buffered pipe; the parent waits for this exact line.
        PrintStream out = System.out;
        out.println("READY " + address.getAddress().getHostAddress() + ":" + address.getPort());
        out.flush();

        if (options.exitOnStdinClose()) {
            watchStdin();
        }
        // Netty's non-daemon event-loop threads keep the JVM alive from here on.
    }

    /**
     * The parent keeps our stdin as a pipe; when it dies (even by SIGKILL) the pipe closes and we
     * see EOF, so no orphaned server keeps the port or the H2 file lock.
     */
    private static void watchStdin() {
        Thread watcher = new Thread(() -> {
            InputStream in = System.in;
            byte[] buffer = new byte[256];
            try {
                while (in.read(buffer) != -1) {
                    // Input carries no meaning; only its end does.
                }
            } catch (IOException e) {
                // A broken stdin means the same as EOF: nobody is watching us any more.
            }
            System.exit(0);
        }, "mongo-server-stdin-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static void setDefaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /*
     * Subclasses rather than a delegating wrapper: the backend dispatches OP_MSG to its own
     * handleCommand internally, so only an override sees every command.
     */
    private static MongoBackend createBackend(Options options) throws IOException {
        switch (options.backend()) {
            case "memory":
                if (options.secondaryIndexes()) {
                    return new IndexedMemoryBackend() {
                        @Override
                        public Document handleCommand(Channel channel, String database, String command,
                                Document query) {
                            return handleCommandCompat(channel, database, command, query, super::handleCommand,
                                    options.asMongos());
                        }
                    };
                }
                return new MemoryBackend() {
                    @Override
                    public Document handleCommand(Channel channel, String database, String command, Document query) {
                        return handleCommandCompat(channel, database, command, query, super::handleCommand,
                                options.asMongos());
                    }
                };
            case "h2":
                Path file = Path.of(options.file()).toAbsolutePath();
                Path parent = file.getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                MVStore store = new MVStore.Builder().fileName(file.toString()).open();
                boolean commitPerWrite = !options.durability().equals("delayed");
                boolean fsync = options.durability().equals("fsync");
                if (options.secondaryIndexes()) {
                    return new IndexedH2Backend(store) {
                        @Override
                        public Document handleCommand(Channel channel, String database, String command,
                                Document query) {
                            return durably(store, commitPerWrite, fsync, () -> handleCommandCompat(channel,
                                    database, command, query, super::handleCommand, options.asMongos()));
                        }
                    };
                }
                return new H2Backend(store) {
                    @Override
                    public Document handleCommand(Channel channel, String database, String command, Document query) {
                        return durably(store, commitPerWrite, fsync, () -> handleCommandCompat(channel, database,
                                command, query, super::handleCommand, options.asMongos()));
                    }
                };
            default:
                throw new IllegalStateException("unknown backend " + options.backend());
        }
    }

    /** Runs {@code command}, then (with commit per write) commits what it changed before replying. */
    private static Document durably(MVStore store, boolean commitPerWrite, boolean fsync,
            Supplier<Document> command) {
        try {
            return command.get();
        } finally {
            if (commitPerWrite) {
                commitWrites(store, fsync);
            }
        }
    }

    /**
     * Runs on the thread that will send the reply, so the reply waits for the commit. Writers that
     * finish together share a commit: the first one stores every change made so far, and the
     * others find nothing unsaved. A failed command may have changed documents too (an unordered
     * insert stops at a duplicate), hence the call from a finally block.
     */
    private static void commitWrites(MVStore store, boolean fsync) {
        if (!store.hasUnsavedChanges()) {
            return;
        }
        store.commit();
        if (fsync) {
            store.sync();
        }
    }

    /**
     * The library only knows the legacy {@code isMaster}; {@code hello} (MongoDB 4.4.2+) is what
     * drivers send when the Stable API is requested and what tools use to inspect a server. The
     * answer is the same document under the newer field name. Nor does it know {@code $unionWith}
     * ({@link UnionWith}).
     */
    private static Document handleCommandCompat(Channel channel, String database, String command, Document query,
            CommandHandler next, boolean asMongos) {
        if (UnionWith.appliesTo(command, query)) {
            return UnionWith.run(database, query, (part, partQuery) -> next.handle(channel, database, part, partQuery));
        }
        boolean hello = command.equalsIgnoreCase("hello");
        if (!hello && !command.equalsIgnoreCase("isMaster")) {
            return next.handle(channel, database, command, query);
        }
        Document reply = next.handle(channel, database, hello ? "isMaster" : command, query);
        if (asMongos) {
            reply.put("msg", "isdbgrid");
        }
        if (!hello) {
            return reply;
        }
        Object primary = reply.remove("ismaster");
        reply.put("isWritablePrimary", primary == null ? Boolean.TRUE : primary);
        return reply;
    }

    private static void closeQuietly(MongoBackend backend) {
        try {
            // Idempotent for both backends: H2 skips an already-closed MVStore.
            backend.close();
        } catch (RuntimeException e) {
            System.err.println("mongo-server: error while closing backend: " + e);
        }
    }

    private static Options parse(String[] args) {
        String host = "127.0.0.1";
        int port = 0;
        String backend = "memory";
        String file = null;
        String durability = "commit";
        boolean asMongos = false;
        boolean exitOnStdinClose = false;
        boolean secondaryIndexes = true;

        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--host" -> host = value(args, ++i, arg);
                case "--port" -> {
                    String raw = value(args, ++i, arg);
                    try {
                        port = Integer.parseInt(raw);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--port needs a number, got '" + raw + "'");
                    }
                    if (port < 0 || port > 65535) {
                        throw new IllegalArgumentException("--port out of range: " + port);
                    }
                }
                case "--backend" -> backend = value(args, ++i, arg);
                case "--file" -> file = value(args, ++i, arg);
                case "--durability" -> durability = value(args, ++i, arg);
                case "--as-mongos" -> asMongos = true;
                case "--exit-on-stdin-close" -> exitOnStdinClose = true;
                case "--secondary-indexes" -> {
                    String raw = value(args, ++i, arg);
                    if (!raw.equals("on") && !raw.equals("off")) {
                        throw new IllegalArgumentException("--secondary-indexes must be on or off, got '" + raw + "'");
                    }
                    secondaryIndexes = raw.equals("on");
                }
                default -> throw new IllegalArgumentException("unknown argument '" + arg + "'");
            }
        }

        if (!backend.equals("memory") && !backend.equals("h2")) {
            throw new IllegalArgumentException("--backend must be memory or h2, got '" + backend + "'");
        }
        if (backend.equals("h2") && (file == null || file.isEmpty())) {
            throw new IllegalArgumentException("--backend h2 needs --file");
        }
        if (backend.equals("memory") && file != null) {
            throw new IllegalArgumentException("--file only applies to --backend h2");
        }
        if (!List.of("commit", "fsync", "delayed").contains(durability)) {
            throw new IllegalArgumentException("--durability must be commit, fsync or delayed, got '" + durability + "'");
        }
        return new Options(host, port, backend, file, durability, asMongos, exitOnStdinClose, secondaryIndexes);
    }

    private static String value(String[] args, int index, String flag) {
        if (index >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[index];
    }
}
