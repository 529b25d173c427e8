package dev.supergraph.mongo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.bson.Document;

/**
 * Which positions a query reads, chosen over the collection's secondary indexes: the index that
 * pins the longest prefix of its keys wins, then one whose order serves the sort (walking its
 * ranges one after another, or merging them). Without any, the library's own plan (the unique
 * indexes, else a scan) stays in charge.
 *
 * @param positions candidates, a superset of the matches: the caller applies the whole query
 * @param sortServed the positions already come in the requested order, so a limit may stop early
 */
record IndexPlan<P>(Iterable<P> positions, boolean sortServed) {

    /** Reads the positions for a sorted view (null order when the positions come sorted already). */
    @FunctionalInterface
    interface Reader<P> {
        QueryResult read(Iterable<P> positions, Document orderBy);
    }

    /** Runs a query through the best secondary index, else through the library's own plan. */
    static <P> QueryResult run(List<Index<P>> indexes, Document query, Document orderBy, Comparator<P> natural,
            Reader<P> reader, Supplier<QueryResult> library) {
        IndexPlan<P> plan = choose(indexes, query, orderBy, natural);
        if (plan == null) {
            return library.get();
        }
        return reader.read(plan.positions(), plan.sortServed() ? null : orderBy);
    }

    /**
     * @param natural the order of a collection scan: unsorted results keep the order the library's
     *                scan would give them
     * @return null when no secondary index helps
     */
    private static <P> IndexPlan<P> choose(List<Index<P>> indexes, Document query, Document orderBy, Comparator<P> natural) {
        Document sort = orderBy == null ? new Document() : orderBy;
        if (sort.containsKey("$natural")) {
            return null;
        }
        SecondaryIndex<P> best = null;
        List<List<Object>> bestPinned = List.of();
        Walk bestWalk = null;
        for (Index<P> index : indexes) {
            if (!(index instanceof SecondaryIndex<P> secondary)) {
                if (index.canHandle(query)) {
                    // A unique index naming exactly the queried fields: a point lookup, nothing beats it.
                    return null;
                }
                continue;
            }
            List<List<Object>> pinned = secondary.pinnedValues(query);
            Walk walk = walk(secondary, pinned, sort);
            boolean better = best == null
                    || pinned.size() > bestPinned.size()
                    || (pinned.size() == bestPinned.size() && walk != null && bestWalk == null);
            // A walk of the whole index in sort order: only complete when the index holds every
            // document.
            boolean usable = !pinned.isEmpty() || (walk != null && secondary.holdsEveryDocument());
            if (usable && better) {
                best = secondary;
                bestPinned = pinned;
                bestWalk = walk;
            }
        }
        if (best == null) {
            return null;
        }
        SecondaryIndex.Range range = best.rangeAfter(query, bestPinned);
        if (bestWalk != null) {
            return new IndexPlan<>(bestWalk.merged()
                    ? best.mergedPositions(bestPinned, range, bestWalk.descending())
                    : best.positions(bestPinned, range, bestWalk.descending()), true);
        }
        Iterable<P> found = best.positions(bestPinned, range, false);
        List<P> positions = new ArrayList<>();
        if (best.isMultikey()) {
            LinkedHashSet<P> distinct = new LinkedHashSet<>();
            found.forEach(distinct::add);
            positions.addAll(distinct);
        } else {
            found.forEach(positions::add);
        }
        positions.sort(natural);
        return new IndexPlan<>(positions, false);
    }

    /** How a walk of the index yields the sort's order: backwards or not, ranges merged or chained. */
    private record Walk(boolean descending, boolean merged) {
    }

    /**
     * How walking the index yields the sort's order, or null if it cannot. Keys pinned to one value
     * are constant. Chained ranges serve a sort naming the keys from the first one pinned to several
     * values (or else from the first unpinned one) onwards; merged ranges serve one naming the keys
     * after all the pinned ones. Either way in order, all in the index's directions or all
     * reversed. Arrays under a key sort differently, so multikey indexes never serve a sort.
     */
    private static Walk walk(SecondaryIndex<?> index, List<List<Object>> pinned, Document sort) {
        if (sort.isEmpty() || index.isMultikey()) {
            return null;
        }
        int start = 0;
        while (start < pinned.size() && pinned.get(start).size() == 1) {
            start++;
        }
        Boolean chained = direction(index, start, sort);
        if (chained != null) {
            return new Walk(chained, false);
        }
        Boolean merged = start < pinned.size() ? direction(index, pinned.size(), sort) : null;
        return merged == null ? null : new Walk(merged, true);
    }

    /** Whether the sort names the index's keys from {@code start} on: null if not, else whether reversed. */
    private static Boolean direction(SecondaryIndex<?> index, int start, Document sort) {
        List<String> names = index.keyNames();
        if (start + sort.size() > names.size()) {
            return null;
        }
        Boolean descending = null;
        int i = start;
        for (String field : sort.keySet()) {
            if (!field.equals(names.get(i)) || !(sort.get(field) instanceof Number direction)) {
                return null;
            }
            boolean reversed = (direction.doubleValue() < 0) == index.getKeys().get(i).isAscending();
            if (descending != null && descending != reversed) {
                return null;
            }
            descending = reversed;
            i++;
        }
        return descending;
    }
}
