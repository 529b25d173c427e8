package dev.supergraph.mongo;

import java.util.List;
import java.util.stream.Stream;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;

/**
 * The H2 (MVStore) backend with {@link SecondaryIndex secondary indexes}. The secondary indexes live in memory and are rebuilt from the documents when a
 * database opens; only the documents and the {@code _id} index are stored in the file.
 */
public class IndexedH2Backend extends H2Backend {

    public IndexedH2Backend(MVStore mvStore) {
        super(mvStore);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new IndexedH2Database(databaseName, getCursorRegistry());
    }

    /*
     * An inner class on purpose: H2Database's constructor already opens collections, before a
     * field of ours could be set, and an inner class reaches the store through its outer instance,
     * which Java assigns before the superclass constructor runs.
     */
    private final class IndexedH2Database extends H2Database {

        IndexedH2Database(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, getMvStore(), cursorRegistry);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            // The same map names as H2Database uses, so existing files open unchanged.
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = getMvStore().openMap("databases." + fullName);
            MVMap<String, Object> metaMap = getMvStore().openMap("meta." + fullName);
            return new IndexedH2Collection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName,
                List<IndexKey> keys, boolean sparse) {
            return new SecondaryIndex<>(indexName, keys, sparse, false);
        }

        @Override
        protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName,
                List<IndexKey> keys, boolean sparse) {
            return SecondaryIndex.unique(indexName, keys, sparse,
                    () -> super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse));
        }

        @Override
        public Document handleCommand(Channel channel, String command, Document query,
                DatabaseResolver databaseResolver, Oplog oplog) {
            Document counted = CoveredCount.answer(getDatabaseName(), command, query,
                    name -> resolveCollection(name, false));
            return counted != null ? counted : MatchPushdown.around(getDatabaseName(), command, query,
                    () -> super.handleCommand(channel, command, query, databaseResolver, oplog));
        }
    }

    private static final class IndexedH2Collection extends H2Collection {

        IndexedH2Collection(MongoDatabase database, String collectionName, CollectionOptions options,
                MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize,
                Document fieldSelector) {
            // Positions are the _id keys, which a scan of the map walks in ascending order.
            return IndexPlan.run(getIndexes(), query, orderBy, ValueComparator.asc(),
                    (positions, order) -> matchDocuments(query, positions, order, skip, limit, batchSize, fieldSelector),
                    () -> super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector));
        }

        /** Under the collection's lock, unlike the library's: a write during the build would miss the index. */
        @Override
        public synchronized void addIndex(Index<Object> index) {
            super.addIndex(index);
        }

        @Override
        public Stream<Document> queryAllAsStream() {
            Document match = MatchPushdown.take(getFullName());
            return match == null ? super.queryAllAsStream() : handleQueryAsStream(match);
        }
    }
}
