public enum StorefrontCore {}
