package dev.supergraph.mongo;

import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.UUID;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * The query conditions an index can serve exactly: equality to, or {@code $in} over, plain scalar
 * values. Anything with array, document, null or regular-expression semantics is left to the
 * library's matcher, which re-checks every document an index hands out anyway.
 */
final class Conditions {

    private Conditions() {
    }

    static boolean isScalar(Object value) {
        return value instanceof String || value instanceof Number || value instanceof Boolean
                || value instanceof ObjectId || value instanceof Instant || value instanceof Date
                || value instanceof UUID;
    }

    /** The value a field condition pins the field to, or null when it does not pin one. */
    static Object equalTo(Object condition) {
        if (isScalar(condition)) {
            return condition;
        }
        if (condition instanceof Document document && document.size() == 1 && isScalar(document.get("$eq"))) {
            return document.get("$eq");
        }
        return null;
    }

    /** The values of a field condition that is an {@code $in} over scalars, or null. */
    static Collection<?> in(Object condition) {
        if (condition instanceof Document document && document.size() == 1
                && document.get("$in") instanceof Collection<?> values
                && values.stream().allMatch(Conditions::isScalar)) {
            return values;
        }
        return null;
    }

    /**
     * The part of a filter an index may serve: its top-level equality and {@code $in} conditions.
     * A superset of the filter's matches, so whoever applies the whole filter afterwards is exact.
     */
    static Document indexable(Document filter) {
        Document indexable = new Document();
        for (String field : filter.keySet()) {
            Object condition = filter.get(field);
            if (!field.startsWith("$") && (equalTo(condition) != null || in(condition) != null)) {
                indexable.put(field, condition);
            }
        }
        return indexable;
    }
}
