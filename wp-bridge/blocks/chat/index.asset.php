<?php
/**
 * Dependencies of the block's editor script.
 *
 * @package edgebot
 */

return array(
	'dependencies' => array( 'wp-blocks', 'wp-element' ),
	'version'      => '0.1.0',
);
