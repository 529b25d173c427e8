package dev.supergraph.mongo;

import java.util.List;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.bson.Document;

/**
 * Lets an aggregation's leading {@code $match} reach the indexes. The library feeds every pipeline
 * from a whole-collection stream ({@code queryAllAsStream}) and filters afterwards, so a
 * {@code countDocuments} (an aggregate starting with {@code $match}) scans even when an index
 * would answer it. While such a command runs, the collection it names reads its "whole" stream
 * through the match's indexable part instead; the pipeline still applies the full {@code $match}.
 *
 * <p>Per thread, and taken by the first read of that collection only: the pipeline reads its
 * source before any stage runs, and a later {@code $lookup} into the same collection must see it
 * whole.
 */
final class MatchPushdown {

    private record Pending(String namespace, Document match) {
    }

    private static final ThreadLocal<Pending> PENDING = new ThreadLocal<>();

    private MatchPushdown() {
    }

    /** Runs an {@code aggregate} command with its leading {@code $match} offered to the source collection. */
    static Document around(String databaseName, String command, Document query, Supplier<Document> run) {
        Document match = command.equalsIgnoreCase("aggregate") ? leadingMatch(query) : null;
        if (match == null) {
            return run.get();
        }
        PENDING.set(new Pending(databaseName + "." + query.get(command), match));
        try {
            return run.get();
        } finally {
            PENDING.remove();
        }
    }

    private static Document leadingMatch(Document query) {
        Document match = query.get("pipeline") instanceof List<?> pipeline ? firstMatch(pipeline) : null;
        if (match == null) {
            return null;
        }
        Document indexable = Conditions.indexable(match);
        return indexable.isEmpty() ? null : indexable;
    }

    /** The filter of a pipeline whose first stage is a {@code $match}, else null. */
    static Document firstMatch(List<?> pipeline) {
        if (pipeline.isEmpty() || !(pipeline.get(0) instanceof Document first) || first.size() != 1
                || !(first.get("$match") instanceof Document match)) {
            return null;
        }
        return match;
    }

    /** The match offered to this collection, once; null when there is none. */
    static Document take(String namespace) {
        Pending pending = PENDING.get();
        if (pending == null || !pending.namespace().equals(namespace)) {
            return null;
        }
        PENDING.remove();
        return pending.match();
    }
}
