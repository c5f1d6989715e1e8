import JSON

/// What the keywords of a subschema evaluated, for `unevaluatedProperties` and
/// `unevaluatedItems`.
///
/// Only gathered when some node needs it: annotations flow up from subschemas applied to the
/// same instance (`allOf`, `$ref`, `if`...) and only from those that passed.
struct SchemaAnnotations {
    /// Every property was evaluated (`additionalProperties` or `unevaluatedProperties` ran).
    var allProperties = false
    var properties: Set<String> = []
    /// Every item was evaluated (`items` or `unevaluatedItems` ran).
    var allItems = false
    /// Items before this index were evaluated by `prefixItems`.
    var itemPrefix = 0
    /// Items `contains` matched.
    var items: Set<Int> = []

    mutating func merge(_ other: SchemaAnnotations) {
        allProperties = allProperties || other.allProperties
        if !allProperties { properties.formUnion(other.properties) }
        allItems = allItems || other.allItems
        itemPrefix = max(itemPrefix, other.itemPrefix)
        if !allItems { items.formUnion(other.items) }
    }

    func hasEvaluated(property name: String) -> Bool { allProperties || properties.contains(name) }

    func hasEvaluated(item index: Int) -> Bool { allItems || index < itemPrefix || items.contains(index) }
}
