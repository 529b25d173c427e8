package dev.supergraph.mongo;

import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;

/** The memory backend with {@link SecondaryIndex secondary indexes}. */
public class IndexedMemoryBackend extends MemoryBackend {

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new IndexedMemoryDatabase(databaseName, getCursorRegistry());
    }

    private static final class IndexedMemoryDatabase extends MemoryDatabase {

        IndexedMemoryDatabase(String databaseName, CursorRegistry cursorRegistry) {
            super(databaseName, cursorRegistry);
        }

        @Override
        protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
            return new IndexedMemoryCollection(this, collectionName, options, cursorRegistry);
        }

        @Override
        protected Index<Integer> openOrCreateSecondaryIndex(String collectionName, String indexName,
                List<IndexKey> keys, boolean sparse) {
            return new SecondaryIndex<>(indexName, keys, sparse, false);
        }

        @Override
        protected Index<Integer> openOrCreateUniqueIndex(String collectionName, String indexName,
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

    private static final class IndexedMemoryCollection extends MemoryCollection {

        IndexedMemoryCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                CursorRegistry cursorRegistry) {
            super(database, collectionName, options, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize,
                Document fieldSelector) {
            // Positions are slots in the document list, which a scan walks in ascending order.
            return IndexPlan.run(getIndexes(), query, orderBy, Comparator.naturalOrder(),
                    (positions, order) -> matchDocuments(query, positions, order, skip, limit, batchSize, fieldSelector),
                    () -> super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector));
        }

        /** Under the collection's lock, unlike the library's: a write during the build would miss the index. */
        @Override
        public synchronized void addIndex(Index<Integer> index) {
            super.addIndex(index);
        }

        @Override
        public Stream<Document> queryAllAsStream() {
            Document match = MatchPushdown.take(getFullName());
            return match == null ? super.queryAllAsStream() : handleQueryAsStream(match);
        }
    }
}
