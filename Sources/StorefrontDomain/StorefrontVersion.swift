/// The version every document, webhook and audit report names.
public enum StorefrontVersion {
    public static let current = "0.1.0"
}
