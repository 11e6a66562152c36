//! Group coordination requests: handed to the [`GroupCoordinator`](crate::group::GroupCoordinator).
//! JoinGroup and SyncGroup park until the rebalance moves on, and OffsetCommit until its
//! records are durable, so their responses come [`Reply::Later`]; everything else answers now.

use super::{Context, Reply, NODE_ID};
use crate::group::membership::ClientInfo;
use kafka_protocol::messages::*;

pub fn find_coordinator(ctx: &Context, version: i16, req: FindCoordinatorRequest) -> Reply {
    Reply::Now(ResponseKind::FindCoordinator(
        ctx.groups
            .find_coordinator(req, version, NODE_ID, &ctx.host, ctx.port),
    ))
}

pub fn join_group(ctx: &Context, version: i16, req: JoinGroupRequest, client: ClientInfo) -> Reply {
    let groups = ctx.groups.clone();
    Reply::Later(Box::pin(async move {
        ResponseKind::JoinGroup(groups.join_group(req, version, client).await)
    }))
}

pub fn sync_group(ctx: &Context, req: SyncGroupRequest) -> Reply {
    let groups = ctx.groups.clone();
    Reply::Later(Box::pin(async move {
        ResponseKind::SyncGroup(groups.sync_group(req).await)
    }))
}

pub fn heartbeat(ctx: &Context, req: HeartbeatRequest) -> Reply {
    Reply::Now(ResponseKind::Heartbeat(ctx.groups.heartbeat(req)))
}

pub fn leave_group(ctx: &Context, version: i16, req: LeaveGroupRequest) -> Reply {
    Reply::Now(ResponseKind::LeaveGroup(
        ctx.groups.leave_group(req, version),
    ))
}

pub fn offset_commit(ctx: &Context, req: OffsetCommitRequest) -> Reply {
    // Appended in request order now; acknowledged once durable.
    let in_flight = ctx.groups.offset_commit(req);
    Reply::Later(Box::pin(async move {
        ResponseKind::OffsetCommit(in_flight.finish().await)
    }))
}

pub fn offset_fetch(ctx: &Context, version: i16, req: OffsetFetchRequest) -> Reply {
    Reply::Now(ResponseKind::OffsetFetch(
        ctx.groups.offset_fetch(req, version),
    ))
}

pub fn list_groups(ctx: &Context, req: ListGroupsRequest) -> Reply {
    Reply::Now(ResponseKind::ListGroups(ctx.groups.list_groups(req)))
}

pub fn describe_groups(ctx: &Context, version: i16, req: DescribeGroupsRequest) -> Reply {
    Reply::Now(ResponseKind::DescribeGroups(
        ctx.groups.describe_groups(req, version),
    ))
}

pub fn delete_groups(ctx: &Context, req: DeleteGroupsRequest) -> Reply {
    Reply::Now(ResponseKind::DeleteGroups(ctx.groups.delete_groups(req)))
}

pub fn offset_delete(ctx: &Context, req: OffsetDeleteRequest) -> Reply {
    Reply::Now(ResponseKind::OffsetDelete(ctx.groups.offset_delete(req)))
}

pub fn consumer_group_heartbeat(
    ctx: &Context,
    version: i16,
    req: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
) -> Reply {
    Reply::Now(ResponseKind::ConsumerGroupHeartbeat(
        ctx.groups.consumer_group_heartbeat(req, version, client),
    ))
}

pub fn consumer_group_describe(
    ctx: &Context,
    version: i16,
    req: ConsumerGroupDescribeRequest,
) -> Reply {
    Reply::Now(ResponseKind::ConsumerGroupDescribe(
        ctx.groups.consumer_group_describe(req, version),
    ))
}
