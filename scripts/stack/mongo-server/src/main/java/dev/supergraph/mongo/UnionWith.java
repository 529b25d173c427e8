package dev.supergraph.mongo;

import java.util.ArrayList;
import java.util.List;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.BadValueException;

/**
 * {@code $unionWith} (MongoDB 4.4+), which the library does not know, in the shape our grouped
 * pages send: a pipeline whose stages from the first {@code $unionWith} on are all
 * {@code $unionWith}, so nothing applies to the union as a whole. Each part (the leading stages,
 * then each {@code $unionWith}'s collection and pipeline) runs as a command of its own and the
 * reply carries their rows in order. A part that is exactly {@code $match}, {@code $sort},
 * {@code $limit} runs as a {@code find}, so the indexes serve its sort and it stops after the
 * limit, as MongoDB's planner does with such a pipeline.
 */
final class UnionWith {

    /** Runs one command on the same database. */
    @FunctionalInterface
    interface Commands {
        Document run(String command, Document query);
    }

    private UnionWith() {
    }

    static boolean appliesTo(String command, Document query) {
        return command.equalsIgnoreCase("aggregate") && firstUnion(pipelineOf(query)) >= 0;
    }

    static Document run(String database, Document query, Commands commands) {
        List<Object> pipeline = pipelineOf(query);
        int first = firstUnion(pipeline);
        String collection = String.valueOf(query.get("aggregate"));
        List<Object> rows = new ArrayList<>(part(collection, pipeline.subList(0, first), commands));
        for (Object stage : pipeline.subList(first, pipeline.size())) {
            if (!(stage instanceof Document document) || !(document.get("$unionWith") instanceof Document union)
                    || !(union.get("coll") instanceof String other)) {
                throw new BadValueException(
                        "only { $unionWith: { coll, pipeline } } stages may follow a $unionWith here");
            }
            rows.addAll(part(other, pipelineOf(union), commands));
        }
        Document cursor = new Document("id", 0L).append("ns", database + "." + collection).append("firstBatch", rows);
        return new Document("cursor", cursor).append("ok", 1.0);
    }

    private static List<?> part(String collection, List<Object> pipeline, Commands commands) {
        Document find = asFind(collection, pipeline);
        Document reply = find != null
                ? commands.run("find", find)
                : commands.run("aggregate", new Document("aggregate", collection).append("pipeline", pipeline)
                        .append("cursor", new Document("batchSize", Integer.MAX_VALUE)));
        Document cursor = (Document) reply.get("cursor");
        if (!(cursor.get("id") instanceof Number id) || id.longValue() != 0L) {
            throw new BadValueException("a $unionWith part did not fit in one batch");
        }
        return (List<?>) cursor.get("firstBatch");
    }

    /** The {@code find} a {@code [$match, $sort, $limit]} part is; null for any other part. */
    private static Document asFind(String collection, List<Object> pipeline) {
        if (pipeline.size() != 3 || !(only(pipeline.get(0), "$match") instanceof Document match)
                || !(only(pipeline.get(1), "$sort") instanceof Document sort)
                || !(only(pipeline.get(2), "$limit") instanceof Number limit)) {
            return null;
        }
        return new Document("find", collection).append("filter", match).append("sort", sort)
                .append("limit", limit.intValue()).append("batchSize", limit.intValue() + 1);
    }

    private static Object only(Object stage, String name) {
        return stage instanceof Document document && document.size() == 1 ? document.get(name) : null;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> pipelineOf(Document query) {
        return query.get("pipeline") instanceof List<?> pipeline ? (List<Object>) pipeline : List.of();
    }

    private static int firstUnion(List<Object> pipeline) {
        for (int i = 0; i < pipeline.size(); i++) {
            if (pipeline.get(i) instanceof Document stage && stage.containsKey("$unionWith")) {
                return i;
            }
        }
        return -1;
    }
}
