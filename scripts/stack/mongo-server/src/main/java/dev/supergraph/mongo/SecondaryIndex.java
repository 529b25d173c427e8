package dev.supergraph.mongo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.DuplicateKeyError;

/**
 * An ordered, compound index kept in memory for either backend: the library accepts non-unique
 * index specs but stores them as an {@code EmptyIndex}, and its unique indexes only answer
 * queries naming every key. This one answers equality or {@code $in} on any prefix of its keys
 * and hands out positions in key order, so a matching sort needs no sort at all.
 *
 * <p>Entries are ordered by the key values (each in its declared direction), then by {@code _id},
 * so every document has distinct entries even when the keys repeat. The library removes documents
 * without telling us their position, hence the map from {@code _id} to position and entries.
 */
final class SecondaryIndex<P> extends Index<P> {

    private static final String ID_FIELD = "_id";
    private static final ValueComparator VALUES = ValueComparator.asc();
    private static final Comparator<Object> VALUE_ORDER = SecondaryIndex::compareValues;

    /**
     * Key values of one document plus its {@code _id}, or, with {@code bias} -1 or +1, a bound just
     * below or above every entry starting with {@code values} (a prefix of the keys).
     */
    record Entry(List<Object> values, Object id, int bias) {
    }

    private record Indexed<P>(P position, List<Entry> entries) {
    }

    private final boolean unique;
    private final NavigableMap<Entry, P> entries;
    private final Map<KeyValue, Indexed<P>> byId = new HashMap<>();
    /** Set once a document yields several entries (an array under a key): positions may repeat. */
    private boolean multikey;
    /** Each key's value order in its declared direction: a skip scan searches with them per entry. */
    private final List<Comparator<Object>> keyOrders;

    SecondaryIndex(String name, List<IndexKey> keys, boolean sparse, boolean unique) {
        super(name, keys, sparse);
        this.unique = unique;
        this.entries = new TreeMap<>(entryOrder(keys));
        this.keyOrders = keys.stream().map(key -> key.isAscending() ? VALUE_ORDER : VALUE_ORDER.reversed()).toList();
    }

    /**
     * A unique index as a backend should open it: compound ones as ours, so that they serve prefix
     * queries too; single keys (the {@code _id} index among them) as the library's own.
     */
    static <P> Index<P> unique(String name, List<IndexKey> keys, boolean sparse, Supplier<Index<P>> library) {
        return keys.size() > 1 ? new SecondaryIndex<>(name, keys, sparse, true) : library.get();
    }

    private static Comparator<Entry> entryOrder(List<IndexKey> keys) {
        return (a, b) -> {
            int shared = Math.min(a.values().size(), b.values().size());
            int order = compareKeys(keys, a.values(), b.values(), 0, shared);
            if (order != 0) {
                return order;
            }
            // Equal so far: a bound encloses whatever starts with its values, so the shorter side
            // decides (a document's entry is never the shorter: it has every key).
            int lengths = Integer.compare(a.values().size(), b.values().size());
            if (lengths != 0) {
                return lengths < 0 ? a.bias() : -b.bias();
            }
            if (a.bias() != 0 || b.bias() != 0) {
                return Integer.compare(a.bias(), b.bias());
            }
            return compareValues(a.id(), b.id());
        };
    }

    /** Key values {@code from} (inclusive) to {@code to} (exclusive) compared, each in its key's direction. */
    private static int compareKeys(List<IndexKey> keys, List<Object> a, List<Object> b, int from, int to) {
        for (int i = from; i < to; i++) {
            int order = compareValues(a.get(i), b.get(i));
            if (order != 0) {
                return keys.get(i).isAscending() ? order : -order;
            }
        }
        return 0;
    }

    /** The library's value order, with the common cases (same-typed strings, numbers) taken first. */
    private static int compareValues(Object a, Object b) {
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if (a instanceof Double x && b instanceof Double y) {
            return Double.compare(x, y);
        }
        return VALUES.compare(a, b);
    }

    /**
     * The document's entries' key values: one list of normalized values for plain scalars (the
     * common case, without the library's general path), else the library's multikey expansion.
     */
    private List<List<Object>> keyValuesOf(Document document) {
        List<Object> values = new ArrayList<>(keys().size());
        for (String key : keys()) {
            Object value = Utils.getSubdocumentValueCollectionAware(document, key);
            if (value instanceof Missing || value == null) {
                values.add(null);
            } else if (value instanceof Double || value instanceof Integer) {
                values.add(((Number) value).doubleValue() == 0.0 ? 0.0 : ((Number) value).doubleValue());
            } else if (value instanceof Number || value instanceof Map || value instanceof Collection) {
                return getKeyValues(document).stream().map(keyValue -> keyValue.stream().toList()).toList();
            } else {
                // Strings, booleans, dates, ids: the library's normalization keeps them as they are.
                values.add(value);
            }
        }
        return List.of(values);
    }

    boolean holdsEveryDocument() {
        return !isSparse();
    }

    boolean isMultikey() {
        return multikey;
    }

    /** Key names, in index order. */
    List<String> keyNames() {
        return keys();
    }

    private static KeyValue idOf(Document document) {
        return new KeyValue(document.get(ID_FIELD)).normalized();
    }

    private boolean skips(Document document) {
        return isSparse() && keys().stream()
                .allMatch(key -> Utils.getSubdocumentValueCollectionAware(document, key) instanceof Missing);
    }

    @Override
    public P getPosition(Document document) {
        Indexed<P> indexed = byId.get(idOf(document));
        return indexed == null ? null : indexed.position();
    }

    @Override
    public void checkAdd(Document document, MongoCollection<P> collection) {
        if (unique && !skips(document)) {
            for (List<Object> values : keyValuesOf(document)) {
                if (holderOf(values) != null) {
                    throw new DuplicateKeyError(this, collection, getKeys(), new KeyValue(values));
                }
            }
        }
    }

    /** The {@code _id} of a document holding exactly these key values, or null. */
    private Object holderOf(List<Object> values) {
        Map.Entry<Entry, P> first = entries.ceilingEntry(new Entry(values, null, -1));
        if (first == null || entries.comparator().compare(first.getKey(), new Entry(values, null, 1)) > 0) {
            return null;
        }
        return first.getKey().id();
    }

    @Override
    public void add(Document document, P position, MongoCollection<P> collection) {
        checkAdd(document, collection);
        if (skips(document)) {
            return;
        }
        KeyValue id = idOf(document);
        List<List<Object>> keyValues = keyValuesOf(document);
        List<Entry> added = new ArrayList<>(keyValues.size());
        for (List<Object> values : keyValues) {
            Entry entry = new Entry(values, id.get(0), 0);
            entries.put(entry, position);
            added.add(entry);
        }
        multikey |= added.size() > 1;
        byId.put(id, new Indexed<>(position, added));
    }

    @Override
    public P remove(Document document) {
        Indexed<P> indexed = byId.remove(idOf(document));
        if (indexed == null) {
            return null;
        }
        for (Entry entry : indexed.entries()) {
            entries.remove(entry);
        }
        return indexed.position();
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<P> collection) {
        if (!unique || nullAwareEqualsKeys(oldDocument, newDocument) || skips(newDocument)) {
            return;
        }
        Object ownId = idOf(oldDocument).get(0);
        for (List<Object> values : keyValuesOf(newDocument)) {
            Object holder = holderOf(values);
            if (holder != null && compareValues(holder, ownId) != 0) {
                throw new DuplicateKeyError(this, collection, getKeys(), new KeyValue(values));
            }
        }
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, P position, MongoCollection<P> collection) {
        if (!nullAwareEqualsKeys(oldDocument, newDocument)) {
            remove(oldDocument);
            add(newDocument, position, collection);
        }
    }

    /**
     * The values each leading key is pinned to by the query (one for an equality, each distinct one
     * of an {@code $in}), sorted in the key's direction, for as many leading keys as the query pins;
     * empty when the index cannot narrow the query. However many combinations the values make, a
     * read visits only those present (see {@link #ranges}).
     */
    List<List<Object>> pinnedValues(Document query) {
        List<List<Object>> pinned = new ArrayList<>();
        for (int i = 0; i < keys().size(); i++) {
            Object condition = query.get(keys().get(i));
            Object equal = Conditions.equalTo(condition);
            Collection<?> values = equal != null ? List.of(equal) : Conditions.in(condition);
            if (values == null) {
                break;
            }
            TreeSet<Object> distinct = new TreeSet<>(keyOrders.get(i));
            if (!values.isEmpty()) {
                distinct.addAll(new KeyValue(values).normalized().stream().toList());
            }
            pinned.add(new ArrayList<>(distinct));
        }
        return pinned;
    }

    /**
     * A range of one key's values from the query's {@code $gt}, {@code $gte}, {@code $lt} and
     * {@code $lte} on it (an end with no value is open), as MongoDB bounds an index scan by the key
     * after those an equality or {@code $in} pins: a page's cursor then costs a seek, not a walk from
     * the newest entry down to it.
     */
    record Range(Object low, boolean lowInclusive, Object high, boolean highInclusive) {
        static final Range ALL = new Range(null, false, null, false);
    }

    /**
     * The range the query gives the key after the pinned ones, or {@link Range#ALL}. Bounds in the
     * index's value order, where every type has its place, so they hold a superset of what the
     * operators match across types: the matcher, which sees every entry handed out, stays exact.
     */
    Range rangeAfter(Document query, List<List<Object>> pinned) {
        if (pinned.size() >= keys().size()
                || !(query.get(keys().get(pinned.size())) instanceof Document condition)
                || condition.isEmpty()) {
            return Range.ALL;
        }
        Object low = null;
        Object high = null;
        boolean lowInclusive = false;
        boolean highInclusive = false;
        for (String operator : condition.keySet()) {
            Object value = condition.get(operator);
            if (!Conditions.isScalar(value)) {
                return Range.ALL;
            }
            Object normalized = new KeyValue(value).normalized().get(0);
            boolean lower = operator.equals("$gt") || operator.equals("$gte");
            boolean upper = operator.equals("$lt") || operator.equals("$lte");
            if ((!lower && !upper) || (lower && low != null) || (upper && high != null)) {
                return Range.ALL;
            }
            if (lower) {
                low = normalized;
                lowInclusive = operator.equals("$gte");
            } else {
                high = normalized;
                highInclusive = operator.equals("$lte");
            }
        }
        return new Range(low, lowInclusive, high, highInclusive);
    }

    /**
     * The entries of each combination of pinned values present in the index, in key order. A skip
     * scan: from each entry it meets, it seeks straight to the next combination that could be
     * present, so a feed's {@code $in} over thousands of shard and author pairs costs a few seeks
     * per pair that holds entries, not a lookup per pair asked for.
     */
    private List<NavigableMap<Entry, P>> ranges(List<List<Object>> pinned, Range bounds) {
        List<NavigableMap<Entry, P>> found = new ArrayList<>();
        if (pinned.isEmpty()) {
            addBounded(found, List.of(), bounds);
            return found;
        }
        if (pinned.stream().anyMatch(List::isEmpty)) {
            return found;
        }
        int depth = pinned.size();
        Entry seek = new Entry(List.of(pinned.get(0).get(0)), null, -1);
        while (true) {
            Entry at = entries.ceilingKey(seek);
            if (at == null) {
                return found;
            }
            List<Object> values = at.values();
            seek = null;
            for (int key = 0; key < depth && seek == null; key++) {
                List<Object> allowed = pinned.get(key);
                int slot = Collections.binarySearch(allowed, values.get(key), keyOrders.get(key));
                if (slot >= 0) {
                    continue;
                }
                int next = -slot - 1;
                if (next < allowed.size()) {
                    seek = new Entry(extended(values.subList(0, key), allowed.get(next)), null, -1);
                } else if (key == 0) {
                    return found;
                } else {
                    // No allowed value left under this prefix: on past all of it.
                    seek = new Entry(new ArrayList<>(values.subList(0, key)), null, 1);
                }
            }
            if (seek == null) {
                List<Object> prefix = new ArrayList<>(values.subList(0, depth));
                addBounded(found, prefix, bounds);
                seek = new Entry(prefix, null, 1);
            }
        }
    }

    /** Adds the entries under {@code prefix} whose next key lies in {@code bounds}, if any can. */
    private void addBounded(List<NavigableMap<Entry, P>> found, List<Object> prefix, Range bounds) {
        boolean ascending = prefix.size() == keys().size() || getKeys().get(prefix.size()).isAscending();
        // In entry order a descending key's high values come first.
        Object first = ascending ? bounds.low() : bounds.high();
        boolean firstInclusive = ascending ? bounds.lowInclusive() : bounds.highInclusive();
        Object last = ascending ? bounds.high() : bounds.low();
        boolean lastInclusive = ascending ? bounds.highInclusive() : bounds.lowInclusive();
        Entry from = first == null
                ? new Entry(prefix, null, -1)
                : new Entry(extended(prefix, first), null, firstInclusive ? -1 : 1);
        Entry to = last == null
                ? new Entry(prefix, null, 1)
                : new Entry(extended(prefix, last), null, lastInclusive ? 1 : -1);
        if (entries.comparator().compare(from, to) < 0) {
            found.add(entries.subMap(from, true, to, true));
        }
    }

    private static List<Object> extended(List<Object> prefix, Object value) {
        List<Object> longer = new ArrayList<>(prefix);
        longer.add(value);
        return longer;
    }

    /**
     * Positions of the entries matching the pinned values, in key order (every combination of
     * {@code $in} values visited in key order too), or in reverse key order when descending.
     */
    Iterable<P> positions(List<List<Object>> pinned, Range bounds, boolean descending) {
        List<NavigableMap<Entry, P>> ranges = ranges(pinned, bounds);
        if (descending) {
            Collections.reverse(ranges);
        }
        // Chained by hand: a flatMapped stream would copy each whole range before a limit could stop it.
        return () -> new Iterator<P>() {
            private final Iterator<NavigableMap<Entry, P>> remaining = ranges.iterator();
            private Iterator<P> current = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!current.hasNext() && remaining.hasNext()) {
                    NavigableMap<Entry, P> range = remaining.next();
                    current = (descending ? range.descendingMap() : range).values().iterator();
                }
                return current.hasNext();
            }

            @Override
            public P next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return current.next();
            }
        };
    }

    /**
     * Positions of the entries matching the pinned values, in the order of the keys after them (then
     * {@code _id}), reversed when descending: the ranges of all combinations merged as they are
     * read, the way MongoDB's SORT_MERGE serves {@code $in} followed by a sort, so a limit stops
     * after a few entries of each range instead of sorting them all.
     */
    Iterable<P> mergedPositions(List<List<Object>> pinned, Range bounds, boolean descending) {
        List<NavigableMap<Entry, P>> ranges = ranges(pinned, bounds);
        Comparator<Entry> tail = tailOrder(pinned.size());
        Comparator<Cursor<P>> order = Comparator.comparing(cursor -> cursor.head.getKey(),
                descending ? tail.reversed() : tail);
        return () -> {
            PriorityQueue<Cursor<P>> heads = new PriorityQueue<>(Math.max(1, ranges.size()), order);
            for (NavigableMap<Entry, P> range : ranges) {
                Iterator<Map.Entry<Entry, P>> rest = (descending ? range.descendingMap() : range).entrySet().iterator();
                if (rest.hasNext()) {
                    heads.add(new Cursor<>(rest.next(), rest));
                }
            }
            return new Iterator<P>() {
                @Override
                public boolean hasNext() {
                    return !heads.isEmpty();
                }

                @Override
                public P next() {
                    Cursor<P> cursor = heads.poll();
                    if (cursor == null) {
                        throw new NoSuchElementException();
                    }
                    P position = cursor.head.getValue();
                    if (cursor.rest.hasNext()) {
                        cursor.head = cursor.rest.next();
                        heads.add(cursor);
                    }
                    return position;
                }
            };
        };
    }

    /** One range being merged: its next entry, and the ones after it. */
    private static final class Cursor<P> {
        private Map.Entry<Entry, P> head;
        private final Iterator<Map.Entry<Entry, P>> rest;

        Cursor(Map.Entry<Entry, P> head, Iterator<Map.Entry<Entry, P>> rest) {
            this.head = head;
            this.rest = rest;
        }
    }

    /** The index order of entries from the key {@code from} on, for entries of different ranges. */
    private Comparator<Entry> tailOrder(int from) {
        return (a, b) -> {
            int order = compareKeys(getKeys(), a.values(), b.values(), from, keys().size());
            return order != 0 ? order : compareValues(a.id(), b.id());
        };
    }

    /**
     * How many documents match a query made only of conditions this index pins, and at most a range
     * on the key after them, or null when the entries cannot tell: a condition on a field that is
     * not a key, or an array under a key (a document then has several entries). Each pinned
     * condition is an exact equality or {@code $in} on scalars, so an entry in a pinned range is a
     * match, and each document has one.
     */
    Long exactCount(Document query) {
        if (multikey) {
            return null;
        }
        List<List<Object>> pinned = pinnedValues(query);
        if (pinned.isEmpty() || pinned.size() + 1 < query.size()) {
            return null;
        }
        Range bounds = Range.ALL;
        if (pinned.size() < query.size()) {
            bounds = numberRange(rangeAfter(query, pinned));
            if (bounds == null) {
                return null;
            }
        }
        long count = 0;
        for (NavigableMap<Entry, P> range : ranges(pinned, bounds)) {
            count += range.size();
        }
        return count;
    }

    /**
     * A range whose entries all match, or null: {@code $gt} and its kin match within the bound's
     * type, and the index orders every type, so only bounds that are numbers, with an open end
     * closed at infinity, hold nothing but numbers that match (a count of unread notifications
     * with {@code actorCount > 0}). A range from another condition ({@code $ne}, {@code $exists})
     * comes back as {@link Range#ALL}, which counts nothing here.
     */
    private static Range numberRange(Range range) {
        if (range.equals(Range.ALL) || !isNumber(range.low()) || !isNumber(range.high())) {
            return null;
        }
        return new Range(
                range.low() == null ? Double.NEGATIVE_INFINITY : range.low(),
                range.low() == null || range.lowInclusive(),
                range.high() == null ? Double.POSITIVE_INFINITY : range.high(),
                range.high() == null || range.highInclusive());
    }

    /** A number that orders as one (not NaN), or no bound at all. */
    private static boolean isNumber(Object bound) {
        return bound == null || (bound instanceof Number number && !Double.isNaN(number.doubleValue()));
    }

    @Override
    public boolean canHandle(Document query) {
        return !pinnedValues(query).isEmpty();
    }

    @Override
    public Iterable<P> getPositions(Document query) {
        List<List<Object>> pinned = pinnedValues(query);
        return positions(pinned, rangeAfter(query, pinned), false);
    }

    @Override
    public long getCount() {
        return entries.size();
    }

    @Override
    public long getDataSize() {
        // Not tracked: collStats reports it, nothing here reads it.
        return 0;
    }

    @Override
    public boolean isUnique() {
        return unique;
    }

    @Override
    public void drop() {
        entries.clear();
        byId.clear();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[name=" + getName() + ", keys=" + keys() + ", unique=" + unique + "]";
    }
}
