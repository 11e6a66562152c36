//! Authorized operations (KIP-430) as Kafka answers them without an authorizer: strom has no
//! ACLs yet, so every operation a resource type has is allowed, and a request that asks for
//! the operations gets them all. (Not asked, the answer stays at the schema's default,
//! `i32::MIN`, as in Kafka.)

/// Kafka's `AclOperation` codes used below.
const READ: u8 = 3;
const WRITE: u8 = 4;
const CREATE: u8 = 5;
const DELETE: u8 = 6;
const ALTER: u8 = 7;
const DESCRIBE: u8 = 8;
const CLUSTER_ACTION: u8 = 9;
const DESCRIBE_CONFIGS: u8 = 10;
const ALTER_CONFIGS: u8 = 11;
const IDEMPOTENT_WRITE: u8 = 12;

/// Kafka's `Utils.to32BitField`: bit `code` set for each operation.
const fn bits(ops: &[u8]) -> i32 {
    let mut field = 0i32;
    let mut i = 0;
    while i < ops.len() {
        field |= 1 << ops[i];
        i += 1;
    }
    field
}

/// Every operation on a topic (Kafka's `AclEntry.supportedOperations(TOPIC)`).
pub const TOPIC: i32 = bits(&[
    READ,
    WRITE,
    CREATE,
    DESCRIBE,
    DELETE,
    ALTER,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
]);

/// Every operation on a group.
pub const GROUP: i32 = bits(&[READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);

/// Every operation on the cluster.
pub const CLUSTER: i32 = bits(&[
    CREATE,
    CLUSTER_ACTION,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
    IDEMPOTENT_WRITE,
    ALTER,
    DESCRIBE,
]);

/// What a response carries: the operations when asked for, Kafka's "not requested" otherwise.
pub fn when_asked(asked: bool, operations: i32) -> i32 {
    if asked {
        operations
    } else {
        i32::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_are_kafkas() {
        // Values a Kafka 4 broker without an authorizer answers.
        assert_eq!(TOPIC, 3576);
        assert_eq!(GROUP, 3400);
        assert_eq!(CLUSTER, 8096);
        assert_eq!(when_asked(false, TOPIC), i32::MIN);
    }
}
