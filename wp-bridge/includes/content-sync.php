<?php
/**
 * Content sync: publishing, updating, trashing or deleting a post or page tells edgebot at once (a signed
 * POST /v1/kb/wordpress); failures wait in a queue that WP-Cron retries and the settings page shows.
 *
 * @package edgebot
 */

add_action( 'transition_post_status', 'edgebot_on_transition', 10, 3 );
add_action( 'before_delete_post', 'edgebot_on_delete' );
add_action( 'edgebot_retry_sync', 'edgebot_retry_sync' );
add_filter( 'cron_schedules', 'edgebot_cron_schedules' );

/**
 * The post types that are synced.
 *
 * @return string[]
 */
function edgebot_synced_types(): array {
	return (array) apply_filters( 'edgebot_synced_post_types', array( 'post', 'page' ) );
}

/**
 * Published -> upsert; leaving "publish" (draft, private, trash) -> delete. A password-protected post is
 * sent as a delete (see edgebot_sync_post).
 *
 * @param string  $new_status New status.
 * @param string  $old_status Old status.
 * @param WP_Post $post       The post.
 */
function edgebot_on_transition( string $new_status, string $old_status, WP_Post $post ): void {
	if ( ! in_array( $post->post_type, edgebot_synced_types(), true ) || wp_is_post_revision( $post ) ) {
		return;
	}
	if ( 'publish' === $new_status ) {
		edgebot_sync_post( $post->ID, 'upsert' );
	} elseif ( 'publish' === $old_status ) {
		edgebot_sync_post( $post->ID, 'delete' );
	}
}

/**
 * A post deleted for good.
 *
 * @param int $post_id The post.
 */
function edgebot_on_delete( int $post_id ): void {
	$post = get_post( $post_id );
	if ( $post && in_array( $post->post_type, edgebot_synced_types(), true ) ) {
		edgebot_sync_post( $post_id, 'delete', $post );
	}
}

/**
 * Send one post to edgebot; queue it for a retry on failure.
 *
 * @param int          $post_id The post.
 * @param string       $event   upsert or delete.
 * @param WP_Post|null $post    The post when it is about to disappear.
 * @return bool Whether edgebot took it.
 */
function edgebot_sync_post( int $post_id, string $event, ?WP_Post $post = null ): bool {
	$post = $post ?? get_post( $post_id );
	if ( ! $post || '' === (string) edgebot_option( 'secret' ) ) {
		return false;
	}
	if ( 'upsert' === $event && '' !== (string) $post->post_password ) {
		$event = 'delete'; // Its text is for those who know the password, not for every visitor of the bot.
	}
	$payload = array(
		'event'        => $event,
		'site'         => home_url(),
		'former_sites' => edgebot_former_homes(),
		'post'  => array(
			'id'           => $post->ID,
			'type'         => $post->post_type,
			'status'       => 'delete' === $event ? 'trash' : $post->post_status,
			'link'         => get_permalink( $post ),
			'title'        => get_the_title( $post ),
			'content'      => 'delete' === $event ? '' : apply_filters( 'the_content', $post->post_content ),
			'modified_gmt' => $post->post_modified_gmt,
		),
	);
	$result = Edgebot_Client::from_options()->request( 'POST', '/v1/kb/wordpress', $payload, array(), false );
	$ok     = ! is_wp_error( $result ) && $result['status'] < 300;
	$queue  = edgebot_sync_queue();
	unset( $queue[ $post_id ] );
	if ( ! $ok ) {
		$error              = is_wp_error( $result ) ? $result->get_error_message() : 'HTTP ' . $result['status'];
		$queue[ $post_id ] = array(
			'post_id'  => $post_id,
			'event'    => $event,
			'attempts' => 1 + (int) ( edgebot_sync_queue()[ $post_id ]['attempts'] ?? 0 ),
			'error'    => $error,
		);
		if ( ! wp_next_scheduled( 'edgebot_retry_sync' ) ) {
			wp_schedule_event( time() + 300, 'edgebot_five_minutes', 'edgebot_retry_sync' );
		}
	}
	update_option( 'edgebot_sync_queue', $queue, false );
	return $ok;
}

/**
 * The posts waiting for a retry.
 *
 * @return array<int,array>
 */
/**
 * The site addresses this site had before (http before https, another domain): edgebot drops a post's copy
 * under each of them when the post is sent again, so a changed site URL replaces pages rather than
 * doubling them. The current address is added to the list the first time it is used.
 *
 * @return string[]
 */
function edgebot_former_homes(): array {
	$homes = get_option( 'edgebot_homes', array() );
	$homes = is_array( $homes ) ? $homes : array();
	if ( ! in_array( home_url(), $homes, true ) ) {
		$homes[] = home_url();
		update_option( 'edgebot_homes', array_slice( $homes, -10 ), false );
	}
	return array_values( array_diff( $homes, array( home_url() ) ) );
}

/**
 * The posts whose last send failed, waiting for a retry.
 *
 * @return array
 */
function edgebot_sync_queue(): array {
	$queue = get_option( 'edgebot_sync_queue', array() );
	return is_array( $queue ) ? $queue : array();
}

/**
 * WP-Cron: send the queued posts again (a deleted post is sent as a delete).
 */
function edgebot_retry_sync(): void {
	foreach ( edgebot_sync_queue() as $post_id => $item ) {
		edgebot_sync_post( (int) $post_id, get_post( (int) $post_id ) ? (string) $item['event'] : 'delete' );
	}
	if ( ! edgebot_sync_queue() ) {
		wp_clear_scheduled_hook( 'edgebot_retry_sync' );
	}
}

/**
 * A five-minute WP-Cron schedule.
 *
 * @param array $schedules Existing schedules.
 * @return array
 */
function edgebot_cron_schedules( array $schedules ): array {
	$schedules['edgebot_five_minutes'] = array(
		'interval' => 300,
		'display'  => __( 'Every five minutes', 'edgebot' ),
	);
	return $schedules;
}
