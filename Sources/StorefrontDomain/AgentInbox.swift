/// An agent's inbox as MCP names it: events about its orders, approvals and wallet, readable
/// and subscribable as one resource.
public enum AgentInbox {
    /// The MCP resource of an agent's inbox.
    public static let resourceURI = "storefront://inbox"
}
